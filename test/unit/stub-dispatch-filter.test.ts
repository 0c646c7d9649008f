import { describe, expect, it } from 'vitest';
import { acceptableLabels, rejectionReason, selectJobs, type DispatchCandidate, type DispatchRequest } from '../../server-stub/src/model/dispatch-filter.js';

const job = (extra: Partial<DispatchCandidate> = {}): DispatchCandidate => ({
  pandaId: 1000001,
  taskId: 1001,
  state: 'activated',
  site: 'LOCAL_Rubin',
  minRamCount: 2000,
  maxDiskCount: 100,
  maxWalltime: 600,
  resourceType: 'U2G',
  label: 'managed',
  priority: 500,
  ...extra,
});
const req = (extra: Partial<DispatchRequest> = {}): DispatchRequest => ({ siteName: 'LOCAL_Rubin', nJobs: 1, ...extra });

describe('rejectionReason: each criterion', () => {
  it('takes an activated job on the asked site with no limits given', () => {
    expect(rejectionReason(job(), req())).toBeNull();
  });

  it('only activated jobs', () => {
    expect(rejectionReason(job({ state: 'sent' }), req())).toMatch(/state/);
    expect(rejectionReason(job({ state: 'defined' }), req())).toMatch(/state/);
  });

  it('only the asked site', () => {
    expect(rejectionReason(job({ site: 'OTHER' }), req())).toMatch(/site/);
  });

  it('minRamCount <= mem, or minRamCount 0, or mem absent', () => {
    expect(rejectionReason(job({ minRamCount: 4000 }), req({ mem: 2000 }))).toMatch(/minRamCount/);
    expect(rejectionReason(job({ minRamCount: 2000 }), req({ mem: 2000 }))).toBeNull();
    expect(rejectionReason(job({ minRamCount: 2001 }), req({ mem: 2000 }))).toMatch(/minRamCount/);
    expect(rejectionReason(job({ minRamCount: 0 }), req({ mem: 100 }))).toBeNull();
    expect(rejectionReason(job({ minRamCount: 99999 }), req())).toBeNull();
  });

  it('maxDiskCount <= diskSpace', () => {
    expect(rejectionReason(job({ maxDiskCount: 500 }), req({ diskSpace: 400 }))).toMatch(/maxDiskCount/);
    expect(rejectionReason(job({ maxDiskCount: 400 }), req({ diskSpace: 400 }))).toBeNull();
    expect(rejectionReason(job({ maxDiskCount: 401 }), req({ diskSpace: 400 }))).toMatch(/maxDiskCount/);
  });

  it('maxWalltime <= remaining_time, or maxWalltime null, or remaining_time absent', () => {
    expect(rejectionReason(job({ maxWalltime: 900 }), req({ remainingTime: 600 }))).toMatch(/maxWalltime/);
    expect(rejectionReason(job({ maxWalltime: 600 }), req({ remainingTime: 600 }))).toBeNull();
    expect(rejectionReason(job({ maxWalltime: 601 }), req({ remainingTime: 600 }))).toMatch(/maxWalltime/);
    expect(rejectionReason(job({ maxWalltime: null }), req({ remainingTime: 1 }))).toBeNull();
    expect(rejectionReason(job({ maxWalltime: 99999 }), req())).toBeNull();
  });

  it('resource_type when given', () => {
    expect(rejectionReason(job({ resourceType: 'U8G' }), req({ resourceType: 'U2G' }))).toMatch(/resource_type/);
    expect(rejectionReason(job({ resourceType: 'U8G' }), req({ resourceType: 'U8G' }))).toBeNull();
    expect(rejectionReason(job({ resourceType: 'U8G' }), req())).toBeNull();
  });

  it('task when given', () => {
    expect(rejectionReason(job({ taskId: 1002 }), req({ taskId: 1001 }))).toMatch(/task/);
  });
});

describe('label rule', () => {
  it('user ↔ user/panda/install', () => {
    expect([...acceptableLabels('user')].sort()).toEqual(['install', 'panda', 'user']);
    expect(rejectionReason(job({ label: 'managed' }), req({ prodSourceLabel: 'user' }))).toMatch(/label/);
    expect(rejectionReason(job({ label: 'panda' }), req({ prodSourceLabel: 'user' }))).toBeNull();
  });

  it('managed or none ↔ managed/test/prod_test/install', () => {
    for (const asked of ['managed', undefined, '']) {
      expect([...acceptableLabels(asked)].sort()).toEqual(['install', 'managed', 'prod_test', 'test']);
    }
    expect(rejectionReason(job({ label: 'user' }), req())).toMatch(/label/);
    expect(rejectionReason(job({ label: 'prod_test' }), req())).toBeNull();
  });

  it('unified ↔ both', () => {
    expect(rejectionReason(job({ label: 'user' }), req({ prodSourceLabel: 'unified' }))).toBeNull();
    expect(rejectionReason(job({ label: 'managed' }), req({ prodSourceLabel: 'unified' }))).toBeNull();
  });

  it('anything else matches exactly', () => {
    expect(rejectionReason(job({ label: 'rc_test2' }), req({ prodSourceLabel: 'rc_test2' }))).toBeNull();
    expect(rejectionReason(job({ label: 'managed' }), req({ prodSourceLabel: 'rc_test2' }))).toMatch(/label/);
  });
});

describe('selectJobs', () => {
  it('orders by highest priority, then lowest PandaID, and takes at most nJobs', () => {
    const jobs = [
      job({ pandaId: 5, priority: 100 }),
      job({ pandaId: 4, priority: 900 }),
      job({ pandaId: 2, priority: 100 }),
      job({ pandaId: 3, priority: 900 }),
      job({ pandaId: 1, state: 'sent', priority: 9999 }),
    ];
    expect(selectJobs(jobs, req({ nJobs: 3 })).map((j) => j.pandaId)).toEqual([3, 4, 2]);
    expect(selectJobs(jobs, req({ nJobs: 10 })).map((j) => j.pandaId)).toEqual([3, 4, 2, 5]);
  });
});
