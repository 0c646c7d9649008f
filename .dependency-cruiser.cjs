/**
 * Which folder may import which (README: "Layout"). Each folder of pilot/src and
 * server-stub/src has a rank; a folder may import folders of its own rank or lower,
 * never higher, and never in a cycle. A new folder must be given a rank here first:
 * an unranked folder is itself an error, so the table cannot silently fall behind.
 * Type-only imports count (tsPreCompilationDeps), because a type import is still a
 * dependency of the design even when the bundle drops it.
 */
const PILOT_RANKS = {
  // the wire: names, codes, codecs; logging
  protocol: 0,
  log: 0,
  // typed errors, the one retry/wait policy, site/queue config, release manifests
  errors: 1,
  retry: 1,
  config: 1,
  release: 1,
  // site-config documents checked with zod (config check, the stub, the release builder): above config, which the run path uses without zod
  'site-config': 2,
  // are the token and X.509 proxy usable (pure checks)
  credentials: 1,
  // a job as the server describes it; HTTP with proxies/TLS
  job: 2,
  net: 2,
  // I/O edges: payload processes and work dirs; the server dialects
  run: 3,
  server: 3,
  // watching a payload; ordered reporting; what a payload's end means
  monitor: 4,
  report: 4,
  payload: 4,
  // getting the job's files off the node (log stage-out, sandboxes, live logs)
  transfer: 4,
  // live logs: the payload's lines to a Loki push endpoint
  realtime: 4,
  // Harvester push mode: the server interfaces over files in the access point
  harvester: 4,
  // event ranges run under the same supervisor
  eventservice: 5,
  // slots, the job loop, signals, exit codes
  lifecycle: 6,
  // flags → options → the loop
  cli: 7,
};

// harvester: `panda-stub harvester`, a client of the server like a pilot (uses the pilot's HTTP dialects).
const STUB_RANKS = { model: 0, http: 0, store: 1, engine: 2, api: 3, harvester: 3, cli: 4 };

/** The stub's folders matching `from` reach the pilot only through the index.ts of the `faces` folders. */
const stubUsesPilotFaces = (name, comment, from, faces) => ({
  name,
  comment,
  severity: 'error',
  from,
  to: { path: `^pilot/src/(?!(${faces.join('|')})/index\\.ts$)` },
});

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function rankRules(root, ranks, label) {
  const names = Object.keys(ranks);
  const rules = [];
  for (const from of names) {
    const higher = names.filter((n) => ranks[n] > ranks[from]);
    if (higher.length === 0) continue;
    rules.push({
      name: `${label}-layer-${from}`,
      comment: `${root}/${from} (rank ${ranks[from]}) must not import a higher layer: ${higher.join(', ')}`,
      severity: 'error',
      from: { path: `^${esc(root)}/${from}/` },
      to: { path: `^${esc(root)}/(${higher.join('|')})/` },
    });
  }
  rules.push({
    name: `${label}-unranked-folder`,
    comment: `every folder under ${root} needs a rank in .dependency-cruiser.cjs (${label.toUpperCase()}_RANKS)`,
    severity: 'error',
    from: { path: `^${esc(root)}/(?!(${names.join('|')})/)[^/]+/` },
    to: {},
  });
  rules.push({
    name: `${label}-unranked-target`,
    comment: `every folder under ${root} needs a rank in .dependency-cruiser.cjs (${label.toUpperCase()}_RANKS)`,
    severity: 'error',
    from: {},
    to: { path: `^${esc(root)}/(?!(${names.join('|')})/)[^/]+/` },
  });
  return rules;
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'folders and files must not import each other in a cycle',
      severity: 'error',
      from: { path: '^(pilot|server-stub|cvmfs-layout)/src' },
      to: { circular: true },
    },
    ...rankRules('pilot/src', PILOT_RANKS, 'pilot'),
    ...rankRules('server-stub/src', STUB_RANKS, 'stub'),
    {
      name: 'stub-handlers-never-see-sql',
      comment: 'the stub api/ and http/ layers reach data only through engine/ (one transaction per method)',
      severity: 'error',
      from: { path: '^server-stub/src/(api|http)/' },
      // file-store (blobs on disk) and live-log-store (bounded in-memory rings) hold no SQL:
      // the storage and Loki endpoints use them directly.
      to: { path: '^server-stub/src/store/', pathNot: '^server-stub/src/store/(file-store|live-log-store)[.]ts$' },
    },
    {
      name: 'pilot-logic-never-imports-server',
      comment:
        'watching payloads, reporting, event ranges and payload verdicts see the server only through the narrow interfaces in protocol/ (JobsApi, EventRangesApi, …), so a push-mode transport or a test double can stand in',
      severity: 'error',
      from: { path: '^pilot/src/(monitor|report|eventservice|payload|retry)/' },
      to: { path: '^pilot/src/server/' },
    },
    {
      name: 'pilot-never-imports-stub',
      comment: 'the pilot bundle runs on worker nodes without the stub',
      severity: 'error',
      from: { path: '^(pilot|cvmfs-layout)/src' },
      to: { path: '^server-stub/' },
    },
    stubUsesPilotFaces(
      'stub-uses-only-pilot-public-faces',
      'the stub shares site config and protocol facts with the pilot through their index.ts only',
      { path: '^server-stub/src', pathNot: '^server-stub/src/harvester/' },
      ['config', 'site-config', 'protocol', 'release'],
    ),
    stubUsesPilotFaces(
      'stub-harvester-uses-only-pilot-public-faces',
      "the stub's Harvester is a server client: it may use the pilot's dialects and retry policy too, through their index.ts",
      { path: '^server-stub/src/harvester/' },
      ['config', 'site-config', 'protocol', 'release', 'server', 'retry'],
    ),
    {
      name: 'no-deep-imports-across-folders',
      comment: 'another pilot folder is reached through its index.ts (its public face), not its files',
      severity: 'error',
      from: { path: '^pilot/src/([^/]+)/' },
      to: {
        path: '^pilot/src/[^/]+/(?!index[.]ts$)[^/]+$',
        pathNot: '^pilot/src/$1/',
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist|test|bench|examples)/' },
  },
};
