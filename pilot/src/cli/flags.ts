/**
 * A small command-line parser over `node:util` parseArgs: a table of flags
 * (names, aliases, type, choices, default, help) in, named values out. It
 * replaces yargs in the pilot, whose evaluation cost a fifth of the start-up
 * (yargs + yargs-parser + cliui were ~180 KB of the bundle); parseArgs only
 * splits the words, this file gives the aliases, types, defaults, help text
 * and the errors for bad flags.
 */
import { parseArgs } from 'node:util';

/** One flag. `name` is the key its value gets (a single letter for pilot3's short flags, as yargs keyed them). */
export interface FlagSpec {
  readonly name: string;
  /** Other spellings (long names, and one-letter ones for `-x`). */
  readonly alias?: readonly string[];
  readonly type: 'string' | 'number' | 'boolean';
  /** Allowed values (strings). */
  readonly choices?: readonly string[];
  readonly default?: string | number | boolean;
  /** What the help says the default is when it is computed elsewhere. */
  readonly defaultDescription?: string;
  readonly describe: string;
  /** Accepted but not listed in the help. */
  readonly hidden?: boolean;
}

/** A bad command line: the message says which flag and why. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parsed flags by their `name`, defaults filled in; positionals in order. */
export interface ParsedFlags {
  readonly values: Record<string, unknown>;
  readonly positionals: string[];
  /** `-h`/`--help` was given (nothing else is checked then). */
  readonly help: boolean;
  readonly version: boolean;
}

const dashed = (n: string) => (n.length === 1 ? `-${n}` : `--${n}`);

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

function suggestion(unknown: string, specs: readonly FlagSpec[]): string {
  if (unknown.length < 3) return '';
  let best: { name: string; d: number } | null = null;
  for (const s of specs) {
    if (s.hidden) continue;
    for (const n of [s.name, ...(s.alias ?? [])]) {
      if (n.length === 1) continue;
      const d = distance(unknown, n);
      if (d <= Math.max(1, Math.floor(n.length / 4)) && (!best || d < best.d)) best = { name: n, d };
    }
  }
  return best ? ` (did you mean --${best.name}?)` : '';
}

const TRUE_WORDS = new Set(['true', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'no', '0']);

function convert(spec: FlagSpec, raw: string, shown: string): string | number {
  if (spec.type === 'number') {
    const v = raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isFinite(v)) throw new UsageError(`${shown} takes a number, got '${raw}'`);
    return v;
  }
  if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`${shown} must be one of ${spec.choices.join(', ')}; got '${raw}'`);
  return raw;
}

/**
 * Parses `args` against `specs`. Unknown flags, missing values, numbers that
 * are not numbers and values outside `choices` throw UsageError; a repeated
 * flag keeps its last value; `--no-X` sets boolean X false.
 */
export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  // parseArgs knows every spelling (one-letter ones as `short`) so it splits `-qQ`, `-dz` and `--x=y` right;
  // the spec each spelling belongs to is looked up here.
  const bySpelling = new Map<string, FlagSpec>();
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const spec of specs) {
    const names = [spec.name, ...(spec.alias ?? [])];
    const long = names.filter((n) => n.length > 1);
    const short = names.filter((n) => n.length === 1);
    const type = spec.type === 'boolean' ? 'boolean' : 'string';
    for (const n of names) bySpelling.set(n, spec);
    for (const n of long) options[n] = { type };
    // A one-letter spelling rides on a long one when there is one, else stands alone.
    short.forEach((s, i) => {
      const host = long[i];
      if (host) options[host] = { type, short: s };
      else options[`\0${s}`] = { type, short: s };
    });
  }
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  let help = false;
  let version = false;
  // The first problem is thrown after the loop, so that `--help` anywhere still shows the help.
  let problem: UsageError | null = null;
  for (const t of tokens) {
    try {
      readToken(t);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problem ??= err;
    }
  }
  if (problem && !help && !version) throw problem;
  if (!help) {
    for (const spec of specs) if (values[spec.name] === undefined && spec.default !== undefined) values[spec.name] = spec.default;
  }
  return { values, positionals, help, version };

  function readToken(t: (typeof tokens)[number]): void {
    if (t.kind === 'positional') {
      positionals.push(t.value);
      return;
    }
    if (t.kind !== 'option') return;
    const name = t.name.startsWith('\0') ? t.name.slice(1) : t.name;
    let spec = bySpelling.get(name);
    let negated = false;
    if (!spec && name.startsWith('no-') && bySpelling.get(name.slice(3))?.type === 'boolean') {
      spec = bySpelling.get(name.slice(3));
      negated = true;
    }
    if (!spec) {
      if (name === 'help' || name === 'h') help = true;
      else if (name === 'version') version = true;
      else throw new UsageError(`unknown option ${t.rawName}${suggestion(name, specs)}`);
      return;
    }
    // `-p` is shown as `-p/--port`: the message names the flag as it was typed and as the help lists it.
    const long = [spec.name, ...(spec.alias ?? [])].find((n) => n.length > 1);
    const shown = t.rawName.startsWith('--') || !long ? t.rawName : `${t.rawName}/--${long}`;
    if (spec.type === 'boolean') {
      let v = !negated;
      if (t.value !== undefined) {
        const w = t.value.toLowerCase();
        if (!TRUE_WORDS.has(w) && !FALSE_WORDS.has(w)) throw new UsageError(`${shown} is a switch: give it alone or =true/=false, not '${t.value}'`);
        v = TRUE_WORDS.has(w) !== negated;
      }
      values[spec.name] = v;
      return;
    }
    if (t.value === undefined) throw new UsageError(`${shown} needs a value`);
    values[spec.name] = convert(spec, t.value, shown);
  }
}

/** The help of one command: usage, description, flags (hidden ones left out), epilog. */
export function formatHelp(p: { usage: string; description?: string; flags: readonly FlagSpec[]; epilog?: string }): string {
  const rows = p.flags
    .filter((f) => !f.hidden)
    .map((f) => {
      const names = [f.name, ...(f.alias ?? [])].sort((a, b) => a.length - b.length).map(dashed);
      const arg = f.type === 'boolean' ? '' : f.choices ? ` ${f.choices.join('|')}` : f.type === 'number' ? ' N' : ' VALUE';
      const def = f.defaultDescription ?? (f.default === undefined || f.default === false ? undefined : String(f.default));
      return { left: `  ${names.join(', ')}${arg}`, right: `${f.describe}${def !== undefined ? ` [default: ${def}]` : ''}` };
    });
  const lines = [`Usage: ${p.usage}`, ''];
  if (p.description) lines.push(p.description, '');
  lines.push('Options:');
  for (const r of rows) lines.push(r.left, `      ${r.right}`);
  lines.push('  -h, --help', '      show this help', '  --version', '      show the version');
  if (p.epilog) lines.push('', p.epilog);
  return `${lines.join('\n')}\n`;
}
