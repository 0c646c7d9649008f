/**
 * Reading a `prun` job: its transformation is panda-client's `runGen`, and
 * its parameters name the sandbox archive and the command, as runGen takes
 * them: `-j "" --sourceURL https://host:25443 -p "<url-encoded command>"
 * -a <archive> -r .`. This pilot runs such a job itself, as it runs
 * `bash-c-enc`: fetch and unpack the archive, then run the command.
 */
import { ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';

/** A prun job's parts. */
export interface PrunJob {
  /** Where the archive is: `<sourceURL>/cache/<archive>`. */
  sandboxUrl: string | null;
  archive: string | null;
  /** The command, decoded, run with bash in the run dir. */
  command: string;
  /** The run dir relative to the job dir (`-r`, default `.`). */
  runDir: string;
}

/** Shell-like words: quotes group, backslash escapes; enough for the parameters prun writes. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unbalanced ${quote} in job parameters`);
  if (inWord) words.push(cur);
  return words;
}

/** runGen and its versions (`runGen-00-00-02`), as prun names its transformation. */
export function isPrunTransformation(name: string): boolean {
  return /^runGen(-[\d-]+)?$/.test(name);
}

/** An archive name as the panda cache hands them out: a plain file name. */
const ARCHIVE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * Parses a prun job's parameters. The cache URL is `--sourceURL`, else
 * `PANDACACHE_URL`, else the server's; throws PilotError for parameters that
 * cannot be run (no command, an archive name with a path in it).
 */
export function parsePrunJob(jobPars: string, cacheFallback: string): PrunJob {
  let words: string[];
  try {
    words = shellWords(jobPars);
  } catch (err) {
    throw new PilotError(ErrorCode.GENERALERROR, `prun job parameters do not parse: ${(err as Error).message}`);
  }
  const opts = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (w.startsWith('-') && i + 1 < words.length) opts.set(w, words[++i] as string);
  }
  const encoded = opts.get('-p');
  if (!encoded) throw new PilotError(ErrorCode.GENERALERROR, 'prun job parameters carry no command (-p)');
  let command: string;
  try {
    command = decodeURIComponent(encoded);
  } catch {
    throw new PilotError(ErrorCode.GENERALERROR, 'prun command (-p) is not URL-encoded text');
  }
  const archive = opts.get('-a') ?? null;
  if (archive !== null && !ARCHIVE.test(archive))
    throw new PilotError(ErrorCode.NOUSERTARBALL, `sandbox name ${JSON.stringify(archive.slice(0, 80))} is not a plain file name`);
  const runDir = opts.get('-r') ?? '.';
  if (runDir.startsWith('/') || runDir.split('/').includes('..'))
    throw new PilotError(ErrorCode.GENERALERROR, `prun run dir ${JSON.stringify(runDir)} must stay inside the job dir`);
  const base = (opts.get('--sourceURL') ?? cacheFallback).replace(/\/+$/, '');
  return { sandboxUrl: archive ? `${base}/cache/${encodeURIComponent(archive)}` : null, archive, command, runDir };
}
