/**
 * Both dialects implement every narrow server interface (jobs, bulk updates,
 * event ranges, worker status), checked over real HTTP against the stub.
 * Each step takes only the interface it needs, as the pilot's consumers do.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEQ_HEADER, type BulkUpdatesApi, type EventRangesApi, type JobsApi, type PandaServer, type WorkerStatusApi } from '../../pilot/src/protocol/index.js';
import { HttpTransport, LegacyDialect, V1Dialect } from '../../pilot/src/server/index.js';
import { startTestStub, submitTasks } from '../support/stub-harness.js';

type Stub = Awaited<ReturnType<typeof startTestStub>>;
const esTask = { name: 'isr', site: 'IF_SITE', cores: 1, eventService: true, rangesPerJob: 2, rangeAttempts: 1, command: 'echo {index}', count: 2 };

async function takeJob(api: JobsApi): Promise<{ pandaId: number; jobsetId: number; attemptNr: number }> {
  const job = await api.getJob({ siteName: 'IF_SITE' });
  expect(job).not.toBeNull();
  return { pandaId: Number(job!.PandaID), jobsetId: Number(job!.jobsetID), attemptNr: Number(job!.attemptNr) };
}

async function rangesRoundTrip(api: EventRangesApi, pandaId: number, jobsetId: number): Promise<void> {
  const ranges = (await api.getEventRanges({ pandaId, jobsetId, nRanges: 5 })) as { eventRangeID: string }[];
  expect(ranges).toHaveLength(2);
  const reply = await api.updateEventRanges(
    pandaId,
    ranges.map((r) => ({ eventRangeID: r.eventRangeID, eventStatus: 'finished' as const })),
  );
  expect(reply.returns).toEqual([true, true]);
}

async function bulkBeat(api: BulkUpdatesApi, pandaId: number, attemptNr: number): Promise<void> {
  const replies = await api.updateJobsBulk([{ update: { jobId: pandaId, state: 'running', attemptNr, fields: {} }, seqHeader: `${pandaId}:${attemptNr}:2` }]);
  expect(replies).toHaveLength(1);
  expect(replies[0]).not.toBeInstanceOf(Error);
  expect((replies[0] as { statusCode: number }).statusCode).toBe(0);
}

async function workerStarted(api: WorkerStatusApi): Promise<void> {
  await api.updateWorkerStatus({ site: 'IF_SITE', harvesterId: 'h1', workerId: '42', status: 'started', nodeId: 'node-1' });
}

describe.each(['legacy', 'v1'] as const)('%s dialect implements the narrow server interfaces', (dialect) => {
  let stub: Stub;
  let server: PandaServer;
  beforeEach(async () => {
    stub = await startTestStub();
    const http = new HttpTransport({ baseUrl: stub.url, timeoutMs: 10_000 });
    server = dialect === 'legacy' ? new LegacyDialect(http) : new V1Dialect(http);
  });
  afterEach(async () => stub.stop());

  it('jobs, event ranges, bulk updates and worker status, each through its own interface', async () => {
    await submitTasks(stub.url, esTask);
    const job = await takeJob(server);
    const starting = await server.updateJob(
      { jobId: job.pandaId, state: 'starting', attemptNr: job.attemptNr, fields: {} },
      { headers: { [SEQ_HEADER]: `${job.pandaId}:${job.attemptNr}:1` } },
    );
    expect(starting.statusCode).toBe(0);
    await bulkBeat(server, job.pandaId, job.attemptNr);
    await rangesRoundTrip(server, job.pandaId, job.jobsetId);
    await workerStarted(server);
    expect(server.dialect).toBe(dialect);
  });
});
