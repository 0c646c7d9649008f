/**
 * The prepare step between a job's arrival and its payload: what the
 * transformation plan says is fetched (a prun sandbox, a transformation
 * script) and the command line is made. Failures carry their PanDA codes:
 * sandbox 1246, transformation download 1149, host not allowed 1346.
 */
import { chmodSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';
import { buildPayloadCommand, dropArchive, extractSandbox, planTransformation, DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from '../run/index.js';
import { downloadFile, DownloadError, DEFAULT_DOWNLOAD, type DownloadSettings } from '../transfer/index.js';
import type { HttpTransport } from '../server/index.js';
import type { JobDescription } from '../job/index.js';

export interface PreparationSettings {
  http: HttpTransport;
  serverUrl: string;
  /** Hosts besides the server's that may serve transformations (queue `params.download_hosts`). */
  allowedHosts: readonly string[];
  download: DownloadSettings;
  sandbox: SandboxLimits;
}

export const defaultPreparation = (http: HttpTransport, serverUrl: string): PreparationSettings => ({
  http,
  serverUrl,
  allowedHosts: [],
  download: DEFAULT_DOWNLOAD,
  sandbox: DEFAULT_SANDBOX_LIMITS,
});

const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * Fetches what the job needs into `jobDir` and returns the payload's command line.
 * `beforeFetch` is called before a download starts (it may take minutes).
 */
export async function preparePayload(
  job: JobDescription,
  jobDir: string,
  env: NodeJS.ProcessEnv,
  prep: PreparationSettings | undefined,
  log: Logger,
  signal: AbortSignal,
  beforeFetch: () => void,
): Promise<string> {
  if (!prep) return buildPayloadCommand(job, env, jobDir);
  const plan = planTransformation(job, { serverUrl: prep.serverUrl, allowedHosts: prep.allowedHosts, cacheUrl: env.PANDACACHE_URL || prep.serverUrl });
  switch (plan.kind) {
    case 'builtin':
      return buildPayloadCommand(job, env, jobDir);
    case 'refused':
      throw new PilotError(ErrorCode.TRANSFORMNOTFOUND, plan.reason);
    case 'download': {
      const file = path.join(jobDir, plan.fileName);
      beforeFetch();
      try {
        const got = await downloadFile(prep.http, plan.url, file, {
          signal,
          settings: prep.download,
          onRetry: (err, n) => log.warn({ event: 'trf_download_retry', attempt: n, err: (err as Error).message }, 'transformation download failed; retrying'),
        });
        chmodSync(file, 0o755);
        log.info({ event: 'trf_downloaded', url: plan.url, bytes: got.bytes, adler32: got.adler32, checked: got.checked }, 'transformation downloaded');
      } catch (err) {
        if (err instanceof DownloadError) throw new PilotError(ErrorCode.TRFDOWNLOADFAILURE, `transformation download failed: ${err.message}`, { cause: err });
        throw err;
      }
      // As pilot3 runs it: the script with the job's parameters, through the shell.
      return job.jobPars ? `${quote(`./${plan.fileName}`)} ${job.jobPars}` : quote(`./${plan.fileName}`);
    }
    case 'prun': {
      const { job: prun } = plan;
      if (prun.sandboxUrl && prun.archive) {
        const file = path.join(jobDir, prun.archive);
        beforeFetch();
        try {
          const got = await downloadFile(prep.http, prun.sandboxUrl, file, {
            signal,
            settings: { ...prep.download, maxBytes: Math.min(prep.download.maxBytes, prep.sandbox.maxBytes) },
            onRetry: (err, n) => log.warn({ event: 'sandbox_download_retry', attempt: n, err: (err as Error).message }, 'sandbox download failed; retrying'),
          });
          const unpacked = await extractSandbox(file, jobDir, prep.sandbox);
          log.info(
            {
              event: 'sandbox_ready',
              url: prun.sandboxUrl,
              bytes: got.bytes,
              adler32: got.adler32,
              checked: got.checked,
              entries: unpacked.entries,
              unpackedBytes: unpacked.bytes,
            },
            'user sandbox unpacked',
          );
        } catch (err) {
          if (err instanceof DownloadError) throw new PilotError(ErrorCode.NOUSERTARBALL, `sandbox download failed: ${err.message}`, { cause: err });
          throw err;
        } finally {
          dropArchive(file);
        }
      }
      return prun.runDir === '.' ? prun.command : `cd ${quote(prun.runDir)} && ${prun.command}`;
    }
    default:
      return assertNever(plan);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected plan ${JSON.stringify(x)}`);
}
