import { describe, expect, it } from 'vitest';
import { RequestCounter } from '../../server-stub/src/http/request-counter.js';

describe('request counter', () => {
  it('counts PanDA calls of both dialects by method and client product, and nothing else', () => {
    const c = new RequestCounter();
    c.count('/server/panda/getJob', 'panda-node-pilot/0.1 (linux)');
    c.count('/server/panda/updateJob', 'panda-node-pilot');
    c.count('/api/v1/pilot/update_job', 'pilot3/3.9 python');
    c.count('/api/latest/pilot/update_job', '');
    for (const other of ['/stub/summary', '/server/panda/a/b', '/server/panda/', '/server/panda/get-job', '/api/v2/pilot/x', '/api/v1/pilot', '/'])
      c.count(other, 'x');
    expect(c.snapshot()).toEqual({
      total: 4,
      byMethod: { getJob: 1, 'pilot/update_job': 2, updateJob: 1 },
      byAgent: { 'panda-node-pilot': 2, pilot3: 1, unknown: 1 },
    });
  });

  it('counts every request of an agent, however many distinct User-Agent strings arrive', () => {
    const c = new RequestCounter();
    for (let i = 0; i < 3000; i++) c.count('/server/panda/getJob', `bot/${i}`);
    c.count('/server/panda/getJob', `bot/${'x'.repeat(1000)}`);
    expect(c.snapshot().byAgent).toEqual({ bot: 3001 });
  });
});
