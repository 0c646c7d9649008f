/**
 * `/trf/<name>`: the transformation scripts the stub's jobs name, and the
 * rewriting that makes a dispatched job name them on this very server (the
 * host the pilot used), so any pilot that downloads transformations can run
 * the stub's jobs.
 */
import { textReply } from '../http/reply.js';
import { header, type Route, type StubRequest } from '../http/types.js';
import { BASH_C_ENC, RUNGEN, type DescriptionValue } from '../model/job-description.js';
import { TRANSFORMATION_SCRIPTS } from '../model/transformation-scripts.js';

export function transformationRoutes(): Route[] {
  return [
    {
      method: 'GET',
      pattern: /^\/trf\/([A-Za-z0-9._-]+)$/,
      handler: (_req, m) => {
        const script = TRANSFORMATION_SCRIPTS[m[1] ?? ''];
        return script ? { status: 200, headers: { 'content-type': 'text/x-shellscript' }, body: script } : textReply(404, `no transformation ${m[1] ?? ''}\n`);
      },
    },
  ];
}

/** The origin the pilot reached this server at, or null when its Host header is not a plain host[:port]. */
function origin(req: StubRequest): string | null {
  const host = header(req, 'host');
  return host && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? `${req.secure ? 'https' : 'http'}://${host}` : null;
}

/**
 * A dispatched job as this server addresses it: the stub's own
 * transformations on `/trf/`, a task's path transformation (`/cache/x.sh`)
 * made absolute, and prun's `--sourceURL` (where its sandbox is).
 */
export function addressedToStub(job: Record<string, DescriptionValue>, req: StubRequest): Record<string, DescriptionValue> {
  const base = origin(req);
  if (!base) return job;
  const trf = String(job.transformation ?? '');
  if (trf === BASH_C_ENC) return { ...job, transformation: `${base}/trf/bash-c-enc` };
  if (trf === RUNGEN) return { ...job, transformation: `${base}/trf/user/runGen-00-00-02`, jobPars: `--sourceURL ${base} ${String(job.jobPars ?? '')}` };
  if (trf.startsWith('/')) return { ...job, transformation: `${base}${trf}` };
  return job;
}
