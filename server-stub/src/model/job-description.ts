/**
 * The job description a getJob / acquire_jobs reply carries (docs/panda-protocol.md §3),
 * built from a stub job the way the real server's dispatcher builds it from a
 * job and its files. Every "always present" field is here, with the same
 * types the fixtures show, so a pilot that parses this parses production.
 */
import type { JobRecord, TaskRecord } from './records.js';

/** Rubin's transformation: `jobPars` is a base64 shell command line run with `bash -c`. */
export const BASH_C_ENC = 'https://storage.example.org/containers/bash-c-enc';

/** prun's transformation (panda-client's runGen); the stub's API layer points it at the stub's own `/trf/`. */
export const RUNGEN = 'https://storage.example.org/trf/user/runGen-00-00-02';

/** A prun job's parameters, as prun writes them: the command URL-encoded, the sandbox by name (`--sourceURL` is the server's). */
export function prunJobPars(command: string, sandbox: string): string {
  return `-j "" -p "${encodeURIComponent(command)}" -a ${sandbox} -r .`;
}

/** The transformation and its parameters: bash-c-enc, prun with a sandbox, or the task's own transformation run with the command as its parameters. */
function transformationFields(command: string, task: TaskRecord): { transformation: string; jobPars: string } {
  if (task.sandbox) return { transformation: RUNGEN, jobPars: prunJobPars(command, task.sandbox) };
  if (task.transformation) return { transformation: task.transformation, jobPars: command };
  return { transformation: BASH_C_ENC, jobPars: Buffer.from(command, 'utf8').toString('base64') };
}

/** Values in a job description: what JSON replies carry as they are and urlencoded replies stringify. */
export type DescriptionValue = string | number;

/** PanDA's jobName: `<task>_<job>.<PandaID>`, unique per attempt. */
export function pandaJobName(taskName: string, jobName: string, pandaId: number): string {
  return `${taskName}_${jobName}.${pandaId}`;
}

/** The log tarball a job must upload, named after the job. */
export function logFileName(jobName: string): string {
  return `${jobName}.log.tgz`;
}

/** Builds the description of one dispatched job. */
export function buildJobDescription(job: JobRecord, task: TaskRecord): Record<string, DescriptionValue> {
  const logFile = logFileName(job.jobName);
  const logDataset = `panda.log.${job.taskId}`;
  return {
    PandaID: job.pandaId,
    jobsetID: job.jobsetId,
    jobDefinitionID: '0',
    jobName: job.jobName,
    taskID: job.taskId,
    reqID: String(task.requestId),
    attemptNr: job.attemptNr,
    prodSourceLabel: job.label,
    ...transformationFields(job.command, task),
    swRelease: 'NULL',
    homepackage: 'NULL',
    cmtConfig: 'NULL',
    processingType: 'panda-stub',
    transferType: 'NULL',
    currentPriority: job.priority,
    cloud: 'NULL',
    nucleus: 'NULL',
    sourceSite: 'NULL',
    coreCount: job.cores || 1,
    minRamCount: job.minRamCount,
    maxDiskCount: String(job.maxDiskCount),
    maxCpuCount: '0',
    maxWalltime: job.maxWalltime ?? 'NULL',
    resource_type: job.resourceType,
    prodUserID: 'panda-stub',
    ioIntensity: 'NULL',
    ioIntensityUnit: 'NULL',
    // No input files: stub jobs are self-contained commands. The lists are
    // present and empty-ish the way the server sends them for such jobs.
    inFiles: '',
    GUID: '',
    fsize: '',
    checksum: '',
    scopeIn: '',
    realDatasetsIn: '',
    prodDBlocks: '',
    prodDBlockToken: '',
    dispatchDblock: '',
    dispatchDBlockToken: '',
    dispatchDBlockTokenForOut: 'NULL',
    ddmEndPointIn: '',
    // The log is the one output, as for a Rubin job.
    outFiles: logFile,
    destinationDblock: logDataset,
    destinationDBlockToken: 'NULL',
    realDatasets: logDataset,
    fileDestinationSE: job.site,
    scopeOut: '',
    scopeLog: 'panda',
    logFile,
    logGUID: job.logGuid,
    ddmEndPointOut: 'NULL',
    destinationSE: job.site,
  };
}
