/** `panda-pilot config check FILE…`: validate, then explain, or list every problem with file and field. */
import { formatIssue } from '../config/index.js';
import { buildCatalog, explainDocument, readConfigPaths } from '../site-config/index.js';

/** Exit code when a file has problems. */
export const CONFIG_INVALID = 1;

/** Checks the files together (so duplicates across files are caught); writes the report to `out`. */
export function checkConfig(paths: readonly string[], out: NodeJS.WritableStream): number {
  const { docs, issues } = readConfigPaths(paths);
  const built = buildCatalog(docs);
  const all = [...issues, ...built.issues];
  // The table from the files given (or none), so a queue's resource type is explained as brokerage will see it.
  const table = built.catalog.resourceTypes;
  for (const doc of docs) out.write(`${explainDocument(doc, table).join('\n')}\n`);
  if (all.length) {
    out.write(`\n${all.length} problem(s):\n${all.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`);
    return CONFIG_INVALID;
  }
  out.write(`\nOK: ${docs.length} file(s), ${built.catalog.queues.size} queue(s), ${table.length} resource type(s)\n`);
  return 0;
}
