/**
 * The pilot's command-line parser (pilot/src/cli/flags.ts over node:util
 * parseArgs): every pilot3 flag is accepted, bad flags are usage errors that
 * name the flag (exit 65, nothing run), and values come out typed under the
 * names toPilotOptions reads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCommandLine } from '../../pilot/src/cli/commands.js';
import { parseFlags, UsageError } from '../../pilot/src/cli/flags.js';
import { PILOT_FLAGS, PILOT3_IGNORED_FLAGS, toPilotOptions } from '../../pilot/src/cli/options.js';

const parse = (args: string[]) => parseFlags(args, PILOT_FLAGS);
const options = (args: string[]) => toPilotOptions(parse(args).values, '/launch');

/** Every option of pilot3's pilot.py get_args() (its argparse spellings), with a value where it takes one. */
const PILOT3_ARGUMENTS: string[][] = [
  ['--no-pilot-log'],
  ['-a', '/w'],
  ['--workdir', '/w'],
  ['-d'],
  ['--debug'],
  ['-w', 'generic'],
  ['--workflow', 'generic'],
  ['-l', '3600'],
  ['--lifetime', '3600'],
  ['-L', '3600'],
  ['--leasetime', '3600'],
  ['-q', 'Q'],
  ['--queue', 'Q'],
  ['-r', 'R'],
  ['--resource', 'R'],
  ['-s', 'S'],
  ['--site', 'S'],
  ['-j', 'managed'],
  ['--joblabel', 'managed'],
  ['-i', 'PR'],
  ['--versiontag', 'RC'],
  ['-z'],
  ['--noserverupdate'],
  ['-t'],
  ['--noproxyverification'],
  ['-u'],
  ['--verifypayloadproxy'],
  ['-v', '2'],
  ['--getjobrequests', '2'],
  ['-x', '5'],
  ['--getjobfailures', '5'],
  ['--subscribe-to-msgsvc'],
  ['--cacert', '/ca.pem'],
  ['--capath', '/ca'],
  ['--url', 'https://panda.example.org'],
  ['-p', '25443'],
  ['--port', '25443'],
  ['--queuedata-url', 'https://cric.example.org/q.json'],
  ['--storagedata-url', 'https://cric.example.org/ddm.json'],
  ['--rucio-host', 'https://rucio.example.org'],
  ['--redirect-stdout', '/dev/null'],
  ['--country-group', 'us'],
  ['--working-group', 'AP'],
  ['--allow-other-country', 'False'],
  ['--allow-same-user', 'True'],
  ['--pilot-user', 'rubin'],
  ['--pod'],
  ['--harvester-workdir', '/h'],
  ['--harvester-datadir', '/h'],
  ['--harvester-eventstatusdump', '/h/e.json'],
  ['--harvester-workerattributes', '/h/w.json'],
  ['--harvester-submit-mode', 'PULL'],
  ['--resource-type', 'SCORE'],
  ['--use-https', 'True'],
  ['--cleanup', 'False'],
  ['--use-realtime-logging'],
  ['--realtime-logging-server', 'logstash:1.2.3.4:80'],
  ['--realtime-logname', 'rubin'],
  ['--input-dir', '/in'],
  ['--input-destination-dir', '/in2'],
  ['--output-dir', '/out'],
  ['--job-type', 'managed'],
  ['--use-rucio-traces', 'False'],
  ['--hpc-resource', 'Titan'],
  ['--hpc-mode', 'manytoone'],
  ['--es-executor-type', 'generic'],
];

describe('pilot3 flags', () => {
  it.each(PILOT3_ARGUMENTS.map((a) => [a.join(' '), a]))('%s is accepted', (_, args) => {
    const withQueue = args[0] === '-q' || args[0] === '--queue' ? args : ['-q', 'Q', ...args];
    expect(() => options(withQueue as string[])).not.toThrow();
  });

  it('the production command lines of test/fixtures parse, with their values under the names the pilot reads', () => {
    const fixture = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'pilot3-command-lines.json'), 'utf8')) as {
      lines: { name: string; args: string }[];
    };
    for (const line of fixture.lines) {
      const args = line.args
        .replace(/\{url\}/g, 'http://127.0.0.1:25080')
        .replace(/\{(pilotResourceTypeOption|pilotUrlOption)\}/g, '')
        .replace(/\{[A-Za-z]+\}/g, 'X')
        .split(/\s+/)
        .filter(Boolean)
        // runpilot.sh's own options (pilot-wrapper's) never reach the pilot.
        .filter(
          (a, i, all) =>
            !['--pythonversion', '--pilotversion', '--piloturl'].includes(a) && !['--pythonversion', '--pilotversion', '--piloturl'].includes(all[i - 1] ?? ''),
        )
        .filter((a) => !['--localpy', '--container'].includes(a));
      const o = options(args);
      expect(o.queue, line.name).toBe(args.includes('--queue') ? args[args.indexOf('--queue') + 1] : 'X');
    }
  });

  it('a pilot3 flag with no effect is listed once under its short name, whichever spelling was given', () => {
    const o = options(['-q', 'Q', '--versiontag', 'RC', '-u', '-t', '--allow-same-user=False', '--workflow', 'generic', '--pod']);
    expect(o.notApplicable.sort()).toEqual(['allow-same-user', 'i', 'pod', 'u', 'w']);
  });

  it("-t / --noproxyverification is honoured (pilot3's verify_proxy), not merely accepted", () => {
    expect(options(['-q', 'Q']).verifyProxy).toBe(true);
    expect(options(['-q', 'Q', '-t']).verifyProxy).toBe(false);
    expect(options(['-q', 'Q', '--noproxyverification']).verifyProxy).toBe(false);
  });

  it('every ignored pilot3 flag is hidden from the help but accepted', async () => {
    const out = await capture(['--help']);
    expect(out.code).toBe(0);
    for (const [name, spec] of Object.entries(PILOT3_IGNORED_FLAGS)) {
      expect(out.stdout).not.toMatch(new RegExp(`--${name}\\b`));
      const flag = `${name.length === 1 ? '-' : '--'}${name}`;
      const args = spec.type === 'boolean' ? [flag] : [flag, spec.type === 'number' ? '1' : 'v'];
      expect(options(['-q', 'Q', ...args]).notApplicable, name).toEqual([name]);
    }
  });
});

describe('values', () => {
  it('reads aliases, short groups, inline values, numbers, and defaults', () => {
    const p = parse(['-qQ1', '--site=S1', '-dz', '--max-jobs', '3', '--job-label', 'user', '--api=v1', '--heartbeat', '1e2']);
    expect(p.values).toMatchObject({ q: 'Q1', s: 'S1', d: true, z: true, 'max-jobs': 3, j: 'user', api: 'v1', heartbeat: 100 });
    expect(p.values['kill-grace']).toBe(10); // a default
    expect(p.values.heartbeat).toBeTypeOf('number');
  });

  it('a repeated flag keeps its last value; --no-X and =false switch a boolean off', () => {
    const p = parse(['-q', 'A', '--queue', 'B', '--quiet', '--no-quiet', '--keep-job-dirs=false', '--bulk-heartbeats=yes']);
    expect(p.values).toMatchObject({ q: 'B', quiet: false, 'keep-job-dirs': false, 'bulk-heartbeats': true });
  });

  it('takes a value that starts with a dash (as argparse does)', () => {
    expect(parse(['--es-fatal-exit-codes', '-1']).values['es-fatal-exit-codes']).toBe('-1');
  });

  it('keeps --no-pipeline, a flag whose own name starts with no-', () => {
    expect(parse(['--no-pipeline']).values['no-pipeline']).toBe(true);
    expect(options(['-q', 'Q', '--no-pipeline']).noPipeline).toBe(true);
  });
});

describe('bad flags are usage errors that name the flag', () => {
  it.each([
    [['--queu', 'Q'], /unknown option --queu \(did you mean --queue\?\)/],
    [['-Q', 'x'], /unknown option -Q/],
    [['--nonsense'], /unknown option --nonsense$/],
    [['--max-jobs', 'ten'], /--max-jobs takes a number, got 'ten'/],
    [['-p', ''], /-p\/--port takes a number, got ''/],
    [['--api', 'v2'], /--api must be one of legacy, v1, auto; got 'v2'/],
    [['--url'], /--url needs a value/],
    [['--quiet=maybe'], /--quiet is a switch/],
  ])('%j', (args, message) => {
    expect(() => parse(args as string[])).toThrow(UsageError);
    expect(() => parse(args as string[])).toThrow(message as RegExp);
  });
});

/** Runs the command line in-process; what it wrote and its exit code. */
async function capture(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (write: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        write(chunk.toString());
        cb();
      },
    });
  const code = await runCommandLine(
    args,
    sink((s) => (stdout += s)),
    sink((s) => (stderr += s)),
  );
  return { code, stdout, stderr };
}

describe('the command line', () => {
  it('an unknown flag ends with 65 and one line naming it, before anything runs', async () => {
    const r = await capture(['-q', 'Q', '--url', 'http://127.0.0.1:1', '--bogus-flag']);
    expect(r.code).toBe(65);
    expect(r.stderr).toBe('panda-pilot: unknown option --bogus-flag\nTry panda-pilot --help\n');
    expect(r.stdout).toBe('');
  });

  it('a stray argument is refused, an empty one (an unset template field) is not', async () => {
    const r = await capture(['-q', 'Q', 'extra']);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/unexpected argument 'extra'/);
    expect(parse(['-q', 'Q', '']).positionals).toEqual(['']);
  });

  it('--help wins over a bad flag and shows every visible flag with its default', async () => {
    const r = await capture(['--bogus', '--help']);
    expect(r.code).toBe(0);
    for (const f of PILOT_FLAGS.filter((f) => !f.hidden)) expect(r.stdout).toContain(f.name.length === 1 ? `-${f.name}` : `--${f.name}`);
    expect(r.stdout).toMatch(/--kill-grace N\n.*\[default: 10\]/);
    expect(r.stdout).not.toMatch(/--naive-updates|--retry-max-delay/);
  });

  it('subcommands check their own arguments', async () => {
    expect((await capture(['worker-status', '-q', 'Q'])).stderr).toMatch(/--status is required/);
    expect((await capture(['worker-status', '-q', 'Q', '--status', 'begun'])).stderr).toMatch(/--status must be one of started, finished/);
    expect((await capture(['doctor', '-q', 'Q', '--pings', 'many'])).stderr).toMatch(/--pings takes a number/);
    expect((await capture(['config', 'check'])).code).toBe(65);
    expect((await capture(['release', 'verify', 'a', 'b'])).stderr).toMatch(/unexpected argument 'b'/);
  });
});
