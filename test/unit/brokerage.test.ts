/** Stub brokerage over the shipped site configuration: memory ranges, status, and how a task's site is read. */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadSiteCatalog } from '../../pilot/src/site-config/index.js';
import { brokerageRejection, candidateSites, memoryFits, queueAccepts, queuesFor, type BrokerJob } from '../../server-stub/src/model/brokerage.js';
import { selectJobs, type DispatchCandidate } from '../../server-stub/src/model/dispatch-filter.js';

const catalog = loadSiteCatalog(path.resolve(import.meta.dirname, '..', '..', 'site-config'));
const q = (name: string) => catalog.queues.get(name)!;
const job = (site: string, minRamCount = 2000, extra: Partial<BrokerJob> = {}): BrokerJob => ({ site, minRamCount, cores: 1, label: 'managed', ...extra });
const accepts = (queue: string, j: BrokerJob) => brokerageRejection(queue, j, catalog) === null;

describe('memoryFits: minrss < memory ≤ maxrss', () => {
  it('puts the edge with the smaller queue', () => {
    expect(memoryFits(q('SLAC_Rubin_Medium'), 8000)).toBe(true);
    expect(memoryFits(q('SLAC_Rubin_Medium'), 8001)).toBe(false);
    expect(memoryFits(q('SLAC_Rubin_Medium'), 4000)).toBe(false);
    expect(memoryFits(q('SLAC_Rubin'), 4000)).toBe(true);
    expect(memoryFits(q('SLAC_Rubin_Himem'), 8001)).toBe(true);
  });
  it('a job that states no memory fits only a queue without a lower bound; maxrss 0 is unbounded', () => {
    expect(memoryFits({ minrss: 0, maxrss: 4000 }, 0)).toBe(true);
    expect(memoryFits({ minrss: 4000, maxrss: 8000 }, 0)).toBe(false);
    expect(memoryFits({ minrss: 4000, maxrss: 0 }, 500000)).toBe(true);
  });
});

describe('queueAccepts: status, memory, cores', () => {
  it('offline takes nothing, even by name', () => {
    expect(queueAccepts(q('LOCAL_Rubin_Offline'), job('LOCAL_Rubin_Offline'))).toBe(false);
  });
  it('brokeroff takes only jobs submitted to it by name', () => {
    expect(queueAccepts(q('SLAC_Rubin_Merge'), job('SLAC_Rubin_Merge'))).toBe(true);
    expect(queueAccepts(q('SLAC_Rubin_Merge'), job('SLAC'))).toBe(false);
  });
  it('test takes jobs by name or with a test label', () => {
    const testQueue = { ...q('SLAC_TEST'), status: 'test' as const, minrss: 0, maxrss: 4000 };
    expect(queueAccepts(testQueue, job('SLAC'))).toBe(false);
    expect(queueAccepts(testQueue, job('SLAC', 2000, { label: 'test' }))).toBe(true);
    expect(queueAccepts(testQueue, job('SLAC_TEST'))).toBe(true);
  });
  it('no job with more cores than the queue has', () => {
    expect(queueAccepts(q('SLAC_Rubin'), job('SLAC_Rubin', 2000, { cores: 2 }))).toBe(false);
  });
});

describe('brokerageRejection: how a pilot of queue Q reads a task site', () => {
  it('a job named at Q goes to Q when it fits, and not when it does not', () => {
    expect(accepts('SLAC_Rubin_Medium', job('SLAC_Rubin_Medium', 8000))).toBe(true);
    expect(brokerageRejection('SLAC_Rubin_Medium', job('SLAC_Rubin_Medium', 9000), catalog)).toMatch(/memory 9000 MB outside/);
  });
  it('a job whose memory was raised beyond its queue moves to a sibling that fits, and only then', () => {
    const boosted = job('SLAC_Rubin_Medium', 10000);
    expect(accepts('SLAC_Rubin_Himem', boosted)).toBe(true);
    expect(accepts('CC-IN2P3_Rubin_Himem', boosted)).toBe(false);
    expect(accepts('SLAC_Rubin_Merge', boosted)).toBe(false);
    expect(brokerageRejection('SLAC_Rubin_Himem', job('SLAC_Rubin_Medium', 6000), catalog)).toMatch(/which can run it/);
    expect(queuesFor(boosted, catalog)).toEqual(['SLAC_Rubin_Himem']);
  });
  it('a facility site or "any" goes to every online queue that fits', () => {
    expect(queuesFor(job('SLAC', 6000), catalog)).toEqual(['SLAC_Rubin_Medium']);
    expect(queuesFor(job('any', 100000), catalog).sort()).toEqual(['CC-IN2P3_Rubin_Extra_Himem', 'LANCS_Rubin_Extra_Himem', 'RAL_Rubin_Extra_Himem']);
    expect(queuesFor(job('SLAC', 300000), catalog)).toEqual([]);
  });
  it('an unconfigured queue takes exactly its own jobs, as without site configuration', () => {
    expect(accepts('S', job('S', 999999))).toBe(true);
    expect(accepts('S', job('any'))).toBe(false);
    expect(candidateSites('S', catalog)).toEqual(['S']);
  });
  it('looks up the queue, its site, any, and its siblings', () => {
    expect(candidateSites('LOCAL_Rubin', catalog)).toEqual([
      'LOCAL_Rubin',
      'LOCAL',
      'any',
      'ANY',
      'Any',
      'LOCAL_Rubin_Himem',
      'LOCAL_Rubin_Offline',
      'LOCAL_Rubin_Push',
    ]);
  });
});

describe('selectJobs with brokerage as the site check', () => {
  const candidate = (pandaId: number, site: string, minRamCount: number): DispatchCandidate => ({
    pandaId,
    taskId: 1,
    state: 'activated',
    site,
    minRamCount,
    maxDiskCount: 0,
    maxWalltime: null,
    resourceType: 'U8G',
    label: 'managed',
    priority: 500,
    cores: 1,
  });
  it('hands a Medium pilot only the jobs whose memory fits Medium', () => {
    const jobs = [candidate(1, 'SLAC', 2000), candidate(2, 'SLAC', 6000), candidate(3, 'SLAC_Rubin_Medium', 8000), candidate(4, 'SLAC', 9000)];
    const check = (j: DispatchCandidate, site: string) =>
      brokerageRejection(site, { site: j.site, minRamCount: j.minRamCount, cores: j.cores ?? 1, label: j.label }, catalog);
    expect(selectJobs(jobs, { siteName: 'SLAC_Rubin_Medium', nJobs: 10 }, check).map((j) => j.pandaId)).toEqual([2, 3]);
  });
});
