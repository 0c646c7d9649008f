/**
 * `panda-pilot worker-status --status started|finished [pilot flags]`: the
 * wrapper's worker status report. Takes the pilot's own flags (so the wrapper
 * passes the same arguments twice) and the Harvester ids from the environment.
 */
import { hostname } from 'node:os';
import { readBatchIdentity } from '../config/index.js';
import { PilotExit } from '../lifecycle/index.js';
import type { WorkerStatus } from '../protocol/index.js';
import { selectDialect } from '../server/index.js';
import { toPilotOptions } from './options.js';
import { serverTransport } from './server-transport.js';

/** Runs `worker-status` with the parsed flags (pilot flags plus --status); resolves to the exit code. */
export async function runWorkerStatus(argv: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let opts;
  try {
    opts = toPilotOptions(argv);
  } catch (err) {
    process.stderr.write(`panda-pilot worker-status: ${(err as Error).message}\n`);
    return PilotExit.GENERAL;
  }
  const batch = readBatchIdentity(env);
  if (!batch.harvesterId || !batch.workerId) {
    process.stderr.write('panda-pilot worker-status: HARVESTER_ID and HARVESTER_WORKER_ID must both be set\n');
    return PilotExit.GENERAL;
  }
  const http = serverTransport(opts, env);
  try {
    const server = await selectDialect(http, opts.api);
    const report = { site: opts.site, harvesterId: batch.harvesterId, workerId: batch.workerId, status: argv.status as WorkerStatus, nodeId: hostname() };
    await server.updateWorkerStatus(report);
    process.stdout.write(`worker ${report.workerId} of harvester ${report.harvesterId}: ${report.status} reported (${server.dialect})\n`);
    return PilotExit.OK;
  } catch (err) {
    process.stderr.write(`panda-pilot worker-status: ${(err as Error).message}\n`);
    return PilotExit.COMMUNICATION;
  } finally {
    await http.close().catch(() => undefined);
  }
}
