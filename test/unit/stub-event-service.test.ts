import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseEventRange, rangeCommand } from '../../pilot/src/eventservice/index.js';
import { clusterQuanta, decideEsJobEnd, decideRangeReport, esJobCommand, slotOutcome } from '../../server-stub/src/model/event-service.js';
import { parseTaskFile } from '../../server-stub/src/model/task-file.js';
import { extraReturns, parseQuirks } from '../../server-stub/src/model/server-quirks.js';

const quanta = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `q_${i}`, command: `echo q${i}`, cores: 1, memoryMB: 1, walltimeSec: 1 }));

describe('event-service task files', () => {
  it('takes eventService with rangesPerJob and rangeAttempts, with defaults', () => {
    const r = parseTaskFile({ name: 'isr', site: 'S', eventService: true, rangesPerJob: 4, command: 'echo {index}', count: 9 });
    expect(r.ok && r.spec.tasks[0]!.eventService).toEqual({ rangesPerJob: 4, rangeAttempts: 3 });
    const plain = parseTaskFile({ name: 'isr', site: 'S', command: 'echo' });
    expect(plain.ok && plain.spec.tasks[0]!.eventService).toBeUndefined();
  });
  it('refuses rangesPerJob without eventService, naming the field', () => {
    const r = parseTaskFile({ name: 'isr', site: 'S', rangesPerJob: 4, command: 'echo' });
    expect(r).toEqual({ ok: false, errors: ['rangesPerJob: rangesPerJob needs "eventService": true'] });
  });
});

describe('clustering and the job command', () => {
  it('groups payloads into jobs of up to K ranges with running order ids', () => {
    expect(clusterQuanta(quanta(25), 10).map((c) => [c.firstOrderId, c.quanta.length])).toEqual([
      [1, 10],
      [11, 10],
      [21, 5],
    ]);
  });

  it('a range mapped the Rubin way runs exactly its own quantum, whatever its command contains', () => {
    const tricky = [
      { ...quanta(1)[0]!, name: 'a', command: `echo "it's \\"quoted\\""; echo 'two;; esac' ` },
      { ...quanta(1)[0]!, name: 'b', command: 'printf "%s\\n" b-ran\nexit 0' },
    ];
    const command = esJobCommand('isr', { firstOrderId: 11, quanta: tricky });
    const run = (startEvent: number) => {
      const parsed = parseEventRange({
        eventRangeID: `1-2-11-${startEvent}-1`,
        startEvent,
        lastEvent: startEvent,
        LFN: 'isr:eventservice_11',
        GUID: 'NULL',
        scope: 'pseudo_dataset',
      });
      if (!parsed.ok) throw new Error(parsed.error);
      const mapped = rangeCommand(command, parsed.range, JSON.parse(/RUBIN_ES_MAP='([^']+)'/.exec(command)![1]!));
      if (!mapped.ok) throw new Error(mapped.error);
      return spawnSync('/bin/bash', ['-c', mapped.command], { encoding: 'utf8' });
    };
    expect(run(1).stdout).toBe(`it's "quoted"\ntwo;; esac\n`);
    expect(run(2).stdout).toBe('b-ran\n');
    // Unmapped, the job command refuses to guess which quantum to run.
    expect(spawnSync('/bin/bash', ['-c', command], { encoding: 'utf8' }).status).toBe(65);
  });
});

describe('range reports on the stub', () => {
  it('applies final states only to ranges handed out, and never offers a failed range again in its job', () => {
    expect(decideRangeReport(1, 'finished')).toEqual({ kind: 'apply', status: 3, returns: true });
    expect(decideRangeReport(2, 'failed')).toEqual({ kind: 'apply', status: 7, returns: true });
    expect(decideRangeReport(1, 'fatal')).toEqual({ kind: 'apply', status: 8, returns: true });
    expect(decideRangeReport(0, 'finished')).toMatchObject({ kind: 'refuse', returns: false });
    expect(decideRangeReport(3, 'finished')).toEqual({ kind: 'repeat', returns: true });
    expect(decideRangeReport(3, 'failed')).toMatchObject({ kind: 'refuse' });
    expect(decideRangeReport(1, 'running')).toEqual({ kind: 'running', returns: null });
  });

  it('decides a job from the latest attempt of each quantum', () => {
    expect(slotOutcome({ status: 6, attemptNr: 2 }, 3)).toBe('done');
    expect(slotOutcome({ status: 3, attemptNr: 1 }, 3)).toBe('done'); // finished: no daemon makes it done here
    expect(slotOutcome({ status: 7, attemptNr: 3 }, 3)).toBe('exhausted');
    expect(slotOutcome({ status: 7, attemptNr: 1 }, 3)).toBe('pending');
    expect(slotOutcome({ status: 4, attemptNr: 5 }, 3)).toBe('pending');
    expect(slotOutcome({ status: 8, attemptNr: 1 }, 3)).toBe('fatal');
    expect(decideEsJobEnd(['done', 'done'], 'finished', false)).toMatchObject({ state: 'finished', pending: 0 });
    expect(decideEsJobEnd(['done', 'pending'], 'finished', false)).toMatchObject({ state: 'failed', pending: 1 });
    expect(decideEsJobEnd(['done', 'done'], 'finished', true).state).toBe('failed');
    expect(decideEsJobEnd([], 'finished', false).state).toBe('failed');
  });
});

describe('server quirks the stub reproduces on request', () => {
  it('knows the two event-service bugs by name and refuses others with the list', () => {
    expect([...parseQuirks(['es-extra-returns', 'es-v1-500', 'es-extra-returns'])]).toEqual(['es-extra-returns', 'es-v1-500']);
    expect(parseQuirks([]).size).toBe(0);
    expect(() => parseQuirks(['es-v2-500'])).toThrow(/unknown quirk "es-v2-500"; known: es-extra-returns, es-v1-500/);
    expect(extraReturns([true, null, true])).toEqual([true, null, true, false]);
  });
});
