/** A range's stdout/stderr merged into the job's, each line prefixed `Worker N: ` as pilot3 does. */
import { appendFileSync, readFileSync } from 'node:fs';

/** Appends `source`'s lines to `target` with the worker prefix; a missing source adds nothing. */
export function appendWorkerLog(source: string, target: string, worker: number): void {
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch {
    return;
  }
  if (text === '') return;
  appendFileSync(target, prefixLines(text, worker));
}

/** `Worker N: ` before every line; a last line without a newline gets one. */
export function prefixLines(text: string, worker: number): string {
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return `${lines.map((l) => `Worker ${worker}: ${l}`).join('\n')}\n`;
}
