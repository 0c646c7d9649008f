/**
 * Pipelined dispatch: a slot asks for its next job once its payload ended,
 * while the previous job still reports, and asks only for what is free.
 * Real pilot, real stub, real payloads; the log storage is a WebDAV server
 * here that holds the first job's log (so its final update cannot be sent)
 * until a second payload has started. Order is read from the pilot's own
 * log (one process, one line per event, written in order): no timings.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPilotProcess, scratchDir, startStubProcess, type StubProcess } from '../support/processes.js';
import { stubJob, submitJobs } from '../support/wrapper.js';

let stub: StubProcess;
beforeAll(async () => {
  stub = await startStubProcess(scratchDir('pipeline-stub'));
});
afterAll(async () => stub?.stop());

interface Storage {
  url: string;
  /** How the first log PUT was let through: once a second payload started, or (failure) after the bound. */
  firstReleasedBy: () => 'next-payload' | 'bound' | null;
  close: () => Promise<void>;
}

/** WebDAV log storage that holds the first PUT until `released()` says so (bounded: 90 s). */
async function holdingStorage(released: () => boolean): Promise<Storage> {
  const stored = new Map<string, number>();
  let first: 'next-payload' | 'bound' | null = null;
  let puts = 0;
  const server: Server = createServer((req, res) => {
    const name = req.url ?? '';
    if (req.method === 'HEAD') {
      const size = stored.get(name);
      res.writeHead(size === undefined ? 404 : 200, size === undefined ? {} : { 'Content-Length': size });
      res.end();
      return;
    }
    let size = 0;
    req.on('data', (chunk: Buffer) => (size += chunk.length));
    req.on('end', () => {
      const answer = () => {
        stored.set(name, size);
        res.writeHead(201);
        res.end();
      };
      if (++puts > 1) return answer();
      const until = Date.now() + 90_000;
      const poll = setInterval(() => {
        const ok = released();
        if (!ok && Date.now() < until) return;
        clearInterval(poll);
        first = ok ? 'next-payload' : 'bound';
        answer();
      }, 50);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/logs/`,
    firstReleasedBy: () => first,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

interface LogEvent {
  event?: string;
  pandaId?: number;
  mem?: number | null;
  msg: string;
}

function pilotLog(work: string): LogEvent[] {
  const home = readdirSync(work).find((n) => n.startsWith('PanDA_Pilot3_'));
  if (!home) throw new Error(`no pilot home in ${work}`);
  return readFileSync(path.join(work, home, 'pilotlog.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogEvent);
}

const args = (queue: string, work: string, extra: string[]) => [
  '-q',
  queue,
  '--url',
  stub.url,
  '-a',
  work,
  '--getjob-wait',
  '0',
  '--log-level',
  'debug',
  '--quiet',
  ...extra,
];

describe('pipelined dispatch', () => {
  it("asks for the next job before the previous job's final update is sent, never before its payload ended", async () => {
    const marks = scratchDir('pipeline-marks');
    // A payload that finds another one running means the slot started a job before the previous payload ended.
    const cmd = `[ -e ${marks}/running ] && echo overlap >> ${marks}/overlap; touch ${marks}/running ${marks}/started.$PandaID; sleep 0.2; rm -f ${marks}/running`;
    const ids = await submitJobs(stub.url, {
      name: 'pipe',
      site: 'PIPE',
      maxAttempts: 1,
      memoryMB: 100,
      jobs: [0, 1, 2].map((i) => ({ name: `p${i}`, command: cmd })),
    });
    const storage = await holdingStorage(() => existsSync(marks) && readdirSync(marks).filter((n) => n.startsWith('started.')).length >= 2);
    try {
      const work = scratchDir('pipeline-work');
      const run = await runPilotProcess(args('PIPE', work, ['--slots', '1', '--log-destination', storage.url]), { timeoutMs: 180_000 });
      expect(run.code, run.stderr).toBe(0);
      // The first job's log (and so its final update) waited for the second payload: the slot did not wait for the report.
      expect(storage.firstReleasedBy()).toBe('next-payload');
      expect(existsSync(path.join(marks, 'overlap'))).toBe(false);
      for (const id of ids) expect((await stubJob(stub.url, id)).job.state).toBe('finished');

      const events = pilotLog(work);
      const asks = events.map((e, i) => ({ e, i })).filter(({ e }) => e.event === 'getjob');
      expect(asks.length).toBeGreaterThanOrEqual(ids.length);
      // The n-th ask (from 0) comes after exactly n payloads ended: after the previous payload, before the next one.
      asks.forEach(({ i }, n) => expect(events.slice(0, i).filter((e) => e.event === 'payload_exit').length).toBe(Math.min(n, ids.length)));
      // … and the second ask went out before the first job's final update was acknowledged.
      const firstEnd = events.findIndex((e) => e.event === 'job_end' && e.pandaId === ids[0]);
      expect(firstEnd).toBeGreaterThan(asks[1]!.i);
    } finally {
      await storage.close();
    }
  });

  it('a pipelined ask asks only for the memory not held by running jobs', async () => {
    // Two slots on 2000 MB; jobs of 700 MB: while two run, the other slot may ask for 600 MB at most.
    const ids = await submitJobs(stub.url, {
      name: 'pmem',
      site: 'PIPE_MEM',
      maxAttempts: 1,
      memoryMB: 700,
      jobs: [0, 1, 2, 3, 4].map((i) => ({ name: `m${i}`, command: 'sleep 0.3' })),
    });
    const work = scratchDir('pipeline-mem-work');
    const run = await runPilotProcess(args('PIPE_MEM', work, ['--slots', '3', '--mem', '2000', '--getjob-poll', '0.2', '--getjob-poll-max', '0.5']), {
      timeoutMs: 180_000,
    });
    expect(run.code, run.stderr).toBe(0);
    for (const id of ids) expect((await stubJob(stub.url, id)).job.state).toBe('finished');
    // A job holds its share from before its job_start line until just after its payload_exit line (or its end, without a payload).
    const held = new Set<number>();
    let asksWhileHeld = 0;
    for (const e of pilotLog(work)) {
      if (e.event === 'job_start' && e.pandaId !== undefined) held.add(e.pandaId);
      if ((e.event === 'payload_exit' || e.event === 'job_end') && e.pandaId !== undefined) held.delete(e.pandaId);
      if (e.event === 'getjob') {
        expect(e.mem, JSON.stringify(e)).toBeLessThanOrEqual(2000 - 700 * held.size);
        if (held.size > 0) asksWhileHeld += 1;
      }
    }
    // The check above ran on asks made while jobs held memory, not only on idle ones.
    expect(asksWhileHeld).toBeGreaterThan(0);
  });
});
