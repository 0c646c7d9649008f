/**
 * What to do with a job's transformation, decided from facts alone:
 * run the shell forms by name, run a prun job with its sandbox, download a
 * URL from an allowed host, or refuse. The downloading is done elsewhere.
 */
import { isPrunTransformation, parsePrunJob, type PrunJob } from './sandbox-spec.js';
import { transformationName } from './payload-command.js';

export type TransformationPlan =
  /** bash-c / bash-c-enc, or a path on the node: buildPayloadCommand makes the command. */
  | { kind: 'builtin' }
  | { kind: 'prun'; job: PrunJob }
  | { kind: 'download'; url: string; fileName: string }
  /** A URL from a host not allowed: 1346 with this reason. */
  | { kind: 'refused'; reason: string };

export interface PlanFacts {
  /** The PanDA server's URL: its host may always serve transformations and sandboxes. */
  serverUrl: string;
  /** Further hosts (`host` or `host:port`) the site allows (queue `params.download_hosts`). */
  allowedHosts: readonly string[];
  /** Where a prun sandbox is when the job does not say (`PANDACACHE_URL`, else the server). */
  cacheUrl: string;
}

/** `host` matches any port; `host:port` only that one. The server's host matches on its name. */
export function hostAllowed(url: URL, facts: Pick<PlanFacts, 'serverUrl' | 'allowedHosts'>): boolean {
  const server = new URL(facts.serverUrl);
  if (url.hostname === server.hostname) return true;
  return facts.allowedHosts.some((h) => {
    const entry = h.trim().toLowerCase();
    return entry === url.hostname.toLowerCase() || entry === url.host.toLowerCase();
  });
}

const SHELL_FORMS = new Set(['bash-c', 'bash-c-enc']);

export function planTransformation(job: { transformation: string; jobPars: string }, facts: PlanFacts): TransformationPlan {
  const name = transformationName(job.transformation);
  // The stub's and Rubin's shell transformations run by name: nothing to fetch, wherever their URL points.
  if (SHELL_FORMS.has(name)) return { kind: 'builtin' };
  if (isPrunTransformation(name)) return { kind: 'prun', job: parsePrunJob(job.jobPars, facts.cacheUrl) };
  if (!/^https?:\/\//i.test(job.transformation)) return { kind: 'builtin' };
  let url: URL;
  try {
    url = new URL(job.transformation);
  } catch {
    return { kind: 'refused', reason: `transformation ${job.transformation.slice(0, 120)} is not a valid URL` };
  }
  if (!hostAllowed(url, facts)) {
    const allowed = [new URL(facts.serverUrl).hostname, ...facts.allowedHosts].join(', ');
    return {
      kind: 'refused',
      reason: `transformation host ${url.host} is not allowed (allowed: ${allowed}; a site adds hosts in its queue's params.download_hosts)`,
    };
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(name))
    return { kind: 'refused', reason: `transformation ${url.href.slice(0, 120)} does not end in a plain file name` };
  return { kind: 'download', url: url.href, fileName: name };
}
