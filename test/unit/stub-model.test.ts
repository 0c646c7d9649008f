import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../pilot/src/protocol/index.js';
import { decideRetry } from '../../server-stub/src/model/retry-policy.js';
import { DEFAULT_RESOURCE_TYPES, resourceTypeFor } from '../../server-stub/src/model/resource-types.js';
import { dependencyVerdict, taskOutcome, taskStatus } from '../../server-stub/src/model/task-progress.js';
import { parseUpdateSeq } from '../../server-stub/src/model/update-seq.js';
import { buildJobDescription } from '../../server-stub/src/model/job-description.js';
import type { JobRecord, TaskRecord } from '../../server-stub/src/model/records.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

describe('decideRetry', () => {
  const task = { maxAttempts: 3 };
  const failed = { attemptNr: 1, minRamCount: 2000, cores: 1, killed: false };

  it('retries with the next attempt number while attempts remain', () => {
    expect(decideRetry(failed, task, 1305, 'exit 1')).toMatchObject({ action: 'retry', attemptNr: 2, minRamCount: 2000 });
    expect(decideRetry({ ...failed, attemptNr: 3 }, task, 1305, undefined)).toMatchObject({ action: 'none' });
  });

  it('never retries a PANDAKILL or a job an operator killed', () => {
    expect(decideRetry(failed, task, ErrorCode.PANDAKILL, 'killed')).toMatchObject({ action: 'none' });
    expect(decideRetry({ ...failed, killed: true }, task, 1305, undefined)).toMatchObject({ action: 'none' });
  });
});

describe('resourceTypeFor', () => {
  it('classes memory per core, first matching row wins', () => {
    expect(resourceTypeFor(2000, 1)).toBe('U2G');
    expect(resourceTypeFor(2001, 1)).toBe('U4G');
    expect(resourceTypeFor(8000, 4)).toBe('U2G');
    expect(resourceTypeFor(8000, 1)).toBe('U8G');
    expect(resourceTypeFor(16000, 1)).toBe('U16G');
    expect(resourceTypeFor(32000, 1)).toBe('U32G');
    expect(resourceTypeFor(32001, 1)).toBe('Undefined');
    expect(resourceTypeFor(4001, 2)).toBe('U4G');
  });

  it('takes a replacement table', () => {
    const table = [{ name: 'SCORE', minCore: 1, maxCore: 1, minRamPerCore: null, maxRamPerCore: null }];
    expect(resourceTypeFor(100, 1, table)).toBe('SCORE');
    expect(resourceTypeFor(100, 8, table)).toBe('Undefined');
    expect(DEFAULT_RESOURCE_TYPES.length).toBe(9);
  });
});

describe('task progress and dependencies', () => {
  it('a task is done when every latest attempt finished, doomed when one failed for good', () => {
    expect(taskOutcome(['finished', 'finished'])).toBe('done');
    expect(taskOutcome(['finished', 'running'])).toBe('pending');
    expect(taskOutcome(['finished', 'failed'])).toBe('doomed');
    expect(taskOutcome(['cancelled'])).toBe('doomed');
  });

  it('dependants are released, kept waiting or cancelled', () => {
    expect(dependencyVerdict(['done', 'done'])).toBe('release');
    expect(dependencyVerdict(['done', 'pending'])).toBe('wait');
    expect(dependencyVerdict(['pending', 'doomed'])).toBe('cancel');
  });

  it('task status', () => {
    expect(taskStatus(['defined'], true)).toBe('waiting');
    expect(taskStatus(['activated', 'sent'], false)).toBe('running');
    expect(taskStatus(['finished'], false)).toBe('done');
    expect(taskStatus(['finished', 'failed'], false)).toBe('failed');
    expect(taskStatus(['cancelled'], true)).toBe('cancelled');
  });
});

describe('parseUpdateSeq', () => {
  it('parses PandaID:attemptNr:n and refuses anything else', () => {
    expect(parseUpdateSeq('1000001:2:17')).toEqual({ pandaId: 1000001, attemptNr: 2, n: 17 });
    expect(parseUpdateSeq('1000001:2')).toBeNull();
    expect(parseUpdateSeq('a:b:c')).toBeNull();
    expect(parseUpdateSeq(undefined)).toBeNull();
  });
});

describe('buildJobDescription', () => {
  const fixture = readFileSync(join(import.meta.dirname, '../fixtures/getjob-rubin-v1.json'), 'utf8');
  const job = {
    pandaId: 1000001,
    taskId: 1001,
    slot: 0,
    name: 'j',
    jobName: 't_j.1000001',
    jobsetId: 1001,
    attemptNr: 1,
    state: 'sent',
    command: 'echo "hi"; exit 3',
    cores: 2,
    minRamCount: 4000,
    maxDiskCount: 0,
    maxWalltime: 600,
    resourceType: 'U2G',
    label: 'managed',
    site: 'LOCAL_Rubin',
    priority: 500,
    logGuid: 'g',
    commandToPilot: null,
    serverErrorCode: null,
    serverErrorDiag: null,
    finalReported: false,
    pilotFinalState: null,
    report: {},
    retryOf: null,
    createdAt: '',
    stateChangedAt: '',
    dispatchedAt: null,
    heartbeatAt: null,
    dispatchNode: null,
  } satisfies JobRecord;
  const task = { requestId: 101, name: 't' } as TaskRecord;

  it('has every field of the fixture job, with the same types', () => {
    const fixtureJob = (JSON.parse(fixture) as { data: { jobs: Record<string, unknown>[] } }).data.jobs[0] ?? {};
    const built = buildJobDescription(job, task);
    for (const [key, value] of Object.entries(fixtureJob)) {
      expect(built, key).toHaveProperty(key);
      expect(typeof built[key], key).toBe(typeof value);
    }
  });

  it('carries the command base64-encoded under bash-c-enc and names the log after the job', () => {
    const built = buildJobDescription(job, task);
    expect(built.transformation).toBe('https://storage.example.org/containers/bash-c-enc');
    expect(Buffer.from(String(built.jobPars), 'base64').toString()).toBe('echo "hi"; exit 3');
    expect(built.logFile).toBe('t_j.1000001.log.tgz');
    expect(built.outFiles).toBe('t_j.1000001.log.tgz');
    expect(built).toMatchObject({ PandaID: 1000001, coreCount: 2, minRamCount: 4000, maxWalltime: 600, reqID: '101' });
  });
});
