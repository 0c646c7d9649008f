/**
 * runpilot.sh passes the pilot's documented exit codes through and turns anything
 * else into "pilot crashed" (70). Its list must be the pilot's own table: a code
 * added to the pilot but not to the wrapper would reach the batch system as a crash.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PilotExit } from '../../pilot/src/lifecycle/index.js';

const WRAPPER = path.resolve(import.meta.dirname, '..', '..', 'wrapper', 'runpilot.sh');

/** The codes in map_pilot_exit's pass-through case line. */
function wrapperPassThrough(): number[] {
  const text = readFileSync(WRAPPER, 'utf8');
  const fn = /map_pilot_exit\(\) \{([\s\S]*?)\n\}/.exec(text)?.[1];
  if (!fn) throw new Error('map_pilot_exit() not found in runpilot.sh');
  const line = /^\s*((?:\d+\s*\|\s*)*\d+)\)\s*echo "\$rc"/m.exec(fn)?.[1];
  if (!line) throw new Error('the pass-through case line of map_pilot_exit() not found');
  return line.split('|').map((c) => Number(c.trim()));
}

describe("the wrapper's exit-code list", () => {
  it("is exactly the pilot's PilotExit table", () => {
    const pilot = [...new Set(Object.values(PilotExit))].sort((a, b) => a - b);
    expect(wrapperPassThrough().sort((a, b) => a - b)).toEqual(pilot);
  });
});
