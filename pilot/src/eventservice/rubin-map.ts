/**
 * Maps a range to its command the way Rubin's event service does
 * (docs/panda-protocol.md §11): the range's LFN is `<label>:<name>_<n>` (pilot3 also sees a scope in
 * front), its quantum's order id is n + startEvent − 1, and every
 * `<label>:<name>_<n>` in the job's command is replaced by the order-id map's
 * entry `{label: {orderId: pseudo-name}}`. The map comes from the file named
 * by `RUBIN_ES_MAP_FILE` (in the command, as Rubin writes it, or in the
 * environment) and/or inline JSON in `RUBIN_ES_MAP=` in the command.
 *
 * A command may instead be a template: `{eventRangeID}`, `{startEvent}`,
 * `{lastEvent}`, `{LFN}`, `{GUID}` and `{scope}` are filled from the range.
 */
import type { EventRange } from './event-range.js';

/** `{label: {orderId: pseudoName}}`. */
export type RubinEsMap = Record<string, Record<string, string>>;

/** Where the job's command points for its map. */
export interface MapSources {
  file?: string | undefined;
  inline?: string | undefined;
}

/** The JSON text after `RUBIN_ES_MAP=` (optionally quoted), read up to its balancing brace. */
function inlineJson(command: string): string | undefined {
  const at = /RUBIN_ES_MAP=(['"]?)\{/.exec(command);
  if (!at) return undefined;
  const start = at.index + at[0].length - 1;
  let depth = 0;
  let inString = false;
  for (let i = start; i < command.length; i++) {
    const c = command[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth += 1;
    else if (c === '}' && --depth === 0) return command.slice(start, i + 1);
  }
  return undefined;
}

/** Finds the map's sources in a command line and the environment (the command wins). */
export function findMapSources(command: string, env: NodeJS.ProcessEnv): MapSources {
  const file = /RUBIN_ES_MAP_FILE=(['"]?)([^\s;'"]+)\1/.exec(command)?.[2] ?? env.RUBIN_ES_MAP_FILE;
  return { file: file || undefined, inline: inlineJson(command) };
}

/** Checks a parsed map's shape; throws naming what is wrong. */
export function checkMap(value: unknown, where: string): RubinEsMap {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where} is not a JSON object of labels`);
  for (const [label, entries] of Object.entries(value)) {
    if (!entries || typeof entries !== 'object' || Array.isArray(entries)) throw new Error(`${where}: label ${label} is not an object of order ids`);
    for (const [k, v] of Object.entries(entries)) if (typeof v !== 'string') throw new Error(`${where}: ${label}.${k} is not a string`);
  }
  return value as RubinEsMap;
}

/**
 * Loads the map from its sources (file first, inline entries on top, as
 * pilot3 merges them); null when the job names none. Throws a clear error
 * for an unreadable file or bad JSON.
 */
export function loadRubinEsMap(sources: MapSources, readFile: (file: string) => string): RubinEsMap | null {
  if (!sources.file && !sources.inline) return null;
  const map: RubinEsMap = {};
  const merge = (m: RubinEsMap) => {
    for (const [label, entries] of Object.entries(m)) map[label] = { ...map[label], ...entries };
  };
  if (sources.file) {
    let text: string;
    try {
      text = readFile(sources.file);
    } catch (err) {
      throw new Error(`cannot read RUBIN_ES_MAP_FILE ${sources.file}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`RUBIN_ES_MAP_FILE ${sources.file} is not JSON: ${(err as Error).message}`, { cause: err });
    }
    merge(checkMap(parsed, `RUBIN_ES_MAP_FILE ${sources.file}`));
  }
  if (sources.inline) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(sources.inline);
    } catch (err) {
      throw new Error(`RUBIN_ES_MAP is not JSON: ${(err as Error).message}`, { cause: err });
    }
    merge(checkMap(parsed, 'RUBIN_ES_MAP'));
  }
  return map;
}

/** The pseudo file a range reads and its quantum's order id. */
export interface RangeInput {
  label: string;
  /** `<label>:<name>_<n>`, the text replaced in the command. */
  fileKey: string;
  orderId: number;
}

/** Reads `[scope:]<label>:<name>_<n>[^count]`; null when the LFN has another shape. */
export function rangeInput(range: Pick<EventRange, 'LFN' | 'startEvent'>): RangeInput | null {
  const parts = range.LFN.split(':');
  if (parts.length < 2 || parts.length > 3) return null;
  const label = parts.at(-2) as string;
  const file = (parts.at(-1) as string).split('^')[0] as string;
  const m = /_(\d+)$/.exec(file);
  if (!label || !m) return null;
  return { label, fileKey: `${label}:${file}`, orderId: Number(m[1]) + range.startEvent - 1 };
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Replaces whole occurrences of `key` (not part of a longer name) with `value`. */
export function replaceToken(text: string, key: string, value: string): { text: string; count: number } {
  let count = 0;
  const re = new RegExp(`(?<![A-Za-z0-9_])${escapeRe(key)}(?![A-Za-z0-9_])`, 'g');
  const out = text.replace(re, () => {
    count += 1;
    return value;
  });
  return { text: out, count };
}

/** Fills `{eventRangeID}`-style placeholders from the range. */
export function fillTemplate(command: string, range: EventRange): string {
  const fields: Record<string, string> = {
    eventRangeID: range.eventRangeID,
    startEvent: String(range.startEvent),
    lastEvent: String(range.lastEvent),
    LFN: range.LFN,
    GUID: range.GUID,
    scope: range.scope,
  };
  return command.replace(/\{(eventRangeID|startEvent|lastEvent|LFN|GUID|scope)\}/g, (_, name: string) => fields[name] ?? '');
}

/**
 * The command one range runs. With a map, the range's pseudo file must have
 * an entry (else an error: the range cannot be mapped, and retrying will not
 * change that). Without one, pilot3's fallback: `<label>:<file>^<startEvent>`.
 */
export function rangeCommand(command: string, range: EventRange, map: RubinEsMap | null): { ok: true; command: string } | { ok: false; error: string } {
  const input = rangeInput(range);
  if (!input) {
    if (map) return { ok: false, error: `LFN ${range.LFN} is not <label>:<file>_<n>, so it cannot be looked up in the Rubin ES map` };
    return { ok: true, command: fillTemplate(command, range) };
  }
  const entry = map ? map[input.label]?.[String(input.orderId)] : `${input.fileKey}^${range.startEvent}`;
  if (entry === undefined) return { ok: false, error: `the Rubin ES map has no entry ${input.label}/${input.orderId} for range ${range.eventRangeID}` };
  // Template fields go in after the replacement, so {LFN} is the range's own LFN.
  return { ok: true, command: fillTemplate(replaceToken(command, input.fileKey, entry).text, range) };
}
