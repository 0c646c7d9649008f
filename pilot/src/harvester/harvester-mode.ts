/**
 * Whether the pilot runs in Harvester push mode, decided as pilot3 decides
 * it (docs/harvester.md), and where the access point's files are.
 * Facts in, verdict out: no file system access here.
 */
import path from 'node:path';

/** The Harvester-related flags as the command line gave them ('' or undefined: not given). */
export interface HarvesterFlags {
  /** `--harvester-submit-mode`, any case (Harvester passes PUSH / PULL). */
  submitMode: string;
  workdir: string | undefined;
  datadir: string | undefined;
  eventStatusDump: string | undefined;
  workerAttributes: string | undefined;
  /** `-z`: send no update to the server. */
  noServerUpdate: boolean;
}

/** The access point's files the pilot reads and writes in push mode (Harvester's default names). */
export interface AccessPoint {
  dir: string;
  /** Where pandaJobData.out may be, in pilot3's order (datadir, launch dir, its parent). */
  jobDataDirs: string[];
  workerAttributesFile: string;
  eventStatusFile: string;
}

export type TransportMode = { kind: 'pull' } | { kind: 'push'; accessPoint: AccessPoint; reason: string };

/** Submit mode from the flag, any case; anything else is a usage error. */
export function parseSubmitMode(value: string): 'pull' | 'push' {
  const v = value.trim().toLowerCase();
  if (v === 'pull' || v === 'push') return v;
  throw new Error(`--harvester-submit-mode must be PUSH or PULL (any case), got '${value}'`);
}

const given = (v: string | undefined): v is string => v !== undefined && v !== '';

/**
 * pilot3's rule: Harvester mode when (workdir or datadir given, no server
 * updates), or (event-status-dump or worker-attributes given, no server
 * updates), or (HARVESTER_ID or HARVESTER_WORKER_ID set and submit mode push).
 * The access point is --harvester-workdir, else $HARVESTER_WORKDIR, else the launch dir.
 */
export function transportMode(flags: HarvesterFlags, env: NodeJS.ProcessEnv, launchDir: string): TransportMode {
  const submit = parseSubmitMode(flags.submitMode);
  const noUpdates = flags.noServerUpdate;
  let reason: string | null = null;
  if ((given(flags.workdir) || given(flags.datadir)) && noUpdates) reason = 'a Harvester work/data dir and -z';
  else if ((given(flags.eventStatusDump) || given(flags.workerAttributes)) && noUpdates) reason = 'a Harvester status file and -z';
  else if ((given(env.HARVESTER_ID) || given(env.HARVESTER_WORKER_ID)) && submit === 'push')
    reason = 'HARVESTER_ID/HARVESTER_WORKER_ID and --harvester-submit-mode PUSH';
  if (reason === null) return { kind: 'pull' };
  const dir = path.resolve(launchDir, given(flags.workdir) ? flags.workdir : given(env.HARVESTER_WORKDIR) ? env.HARVESTER_WORKDIR : launchDir);
  const launch = path.resolve(launchDir);
  const jobDataDirs = [...new Set([...(given(flags.datadir) ? [path.resolve(launchDir, flags.datadir)] : []), launch, path.dirname(launch)])];
  return {
    kind: 'push',
    reason,
    accessPoint: {
      dir,
      jobDataDirs,
      workerAttributesFile: path.resolve(dir, given(flags.workerAttributes) ? flags.workerAttributes : 'worker_attributes.json'),
      eventStatusFile: path.resolve(dir, given(flags.eventStatusDump) ? flags.eventStatusDump : 'event_status.dump.json'),
    },
  };
}
