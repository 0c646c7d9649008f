import { describe, expect, it } from 'vitest';
import { PilotError } from '../../pilot/src/errors/index.js';
import { PilotExit, pilotExitCode, pilotStopOf, PilotSignalError } from '../../pilot/src/lifecycle/index.js';

const quiet = { neverReached: false, communicationFailures: 0 };

describe('pilot stop → exit code', () => {
  it('a signal exits 128 + its number, as a shell reports it; an unknown one is a general failure', () => {
    expect(pilotExitCode({ kind: 'signal', signal: 'SIGTERM' })).toBe(143);
    expect(pilotExitCode({ kind: 'signal', signal: 'SIGINT' })).toBe(130);
    expect(pilotExitCode({ kind: 'signal', signal: 'SIGXCPU' })).toBe(152);
    expect(pilotExitCode({ kind: 'signal', signal: 'SIGWINCH' })).toBe(PilotExit.GENERAL);
  });

  it('the lifetime ends with 81, a loop that ended on its own with 0, or 79 when the server was never reached', () => {
    expect(pilotExitCode({ kind: 'lifetime' })).toBe(81);
    expect(pilotExitCode({ kind: 'loop-ended', ...quiet })).toBe(0);
    expect(pilotExitCode({ kind: 'loop-ended', neverReached: true, communicationFailures: 3 })).toBe(79);
    // reached once, then failures: the jobs it ran count, the pilot did its work
    expect(pilotExitCode({ kind: 'loop-ended', neverReached: false, communicationFailures: 3 })).toBe(0);
    // never reached but no failure either (stopped before the first getJob answered)
    expect(pilotExitCode({ kind: 'loop-ended', neverReached: true, communicationFailures: 0 })).toBe(0);
  });

  it('a failure of the pilot itself is 70, or 79 for a communication failure (1318)', () => {
    expect(pilotExitCode({ kind: 'error', code: 1318 })).toBe(79);
    expect(pilotExitCode({ kind: 'error', code: 1200 })).toBe(70);
  });

  it('reads the stop from the abort reason: a signal wins, then the lifetime, else the loop', () => {
    expect(pilotStopOf(new PilotSignalError('SIGUSR1'), { neverReached: true, communicationFailures: 2 })).toEqual({ kind: 'signal', signal: 'SIGUSR1' });
    expect(pilotStopOf(new PilotError(1213, 'pilot lifetime of 10 s reached'), quiet)).toEqual({ kind: 'lifetime' });
    expect(pilotStopOf(new PilotError(1200, 'something else'), quiet)).toEqual({ kind: 'loop-ended', ...quiet });
    expect(pilotStopOf(undefined, { neverReached: true, communicationFailures: 1 })).toEqual({
      kind: 'loop-ended',
      neverReached: true,
      communicationFailures: 1,
    });
  });
});
