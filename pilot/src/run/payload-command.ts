/**
 * Turns a job's transformation and jobPars into the shell command line the
 * payload runs, the way pilot3 does for the transformations Rubin uses.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';

/** Transformations whose jobPars is itself the command line (base64 for the -enc form). */
const SHELL_TRANSFORMATIONS: Record<string, 'plain' | 'base64'> = {
  'bash-c': 'plain',
  'bash-c-enc': 'base64',
};

/** The transformation's last path element: servers send URLs like https://…/containers/bash-c-enc. */
export function transformationName(transformation: string): string {
  return transformation.replace(/\/+$/, '').split('/').pop() ?? transformation;
}

function decodeBase64Strict(text: string): string {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact) || compact.length === 0) {
    throw new PilotError(ErrorCode.GENERALERROR, 'jobPars of a bash-c-enc job is not valid base64');
  }
  return Buffer.from(compact, 'base64').toString('utf8');
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function resolveExecutable(name: string, searchPath: string, jobDir: string): string | null {
  const candidates = name.includes('/')
    ? [path.resolve(jobDir, name)]
    : [
        path.join(jobDir, name),
        ...searchPath
          .split(':')
          .filter(Boolean)
          .map((dir) => path.join(dir, name)),
      ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not this one
    }
  }
  return null;
}

/**
 * The command line for `bash -c`. Throws PilotError 1346 when the
 * transformation is neither a known shell form nor an executable we can find.
 */
export function buildPayloadCommand(job: { transformation: string; jobPars: string }, env: { PATH?: string | undefined }, jobDir: string): string {
  const name = transformationName(job.transformation);
  const shellForm = SHELL_TRANSFORMATIONS[name];
  if (shellForm === 'base64') return decodeBase64Strict(job.jobPars);
  if (shellForm === 'plain') return job.jobPars;
  if (/^https?:\/\//.test(job.transformation)) {
    throw new PilotError(ErrorCode.TRANSFORMNOTFOUND, `transformation ${job.transformation} is a URL this pilot does not download`);
  }
  const exe = resolveExecutable(job.transformation, env.PATH ?? '', jobDir);
  if (!exe) throw new PilotError(ErrorCode.TRANSFORMNOTFOUND, `transformation ${job.transformation} not found or not executable`);
  // jobPars stays a shell string, as pilot3 runs "<transformation> <jobPars>" through the shell.
  return job.jobPars ? `${quote(exe)} ${job.jobPars}` : quote(exe);
}
