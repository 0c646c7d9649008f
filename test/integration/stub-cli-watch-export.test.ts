/**
 * `panda-stub status --watch` and `panda-stub export --format opensearch`
 * from the bundled CLI against a stub over loopback: the overview shows the
 * tasks and their states; the export is valid _bulk NDJSON whose documents
 * fit the documented mapping exactly (strict: no field outside it, each
 * value of the mapped type) and carry the jobs' real codes.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENSEARCH_MAPPING } from '../../server-stub/src/cli/opensearch.js';
import { buildStubBundle, postForm, REPO_ROOT, STUB_BUNDLE, startTestStub, submitTasks } from '../support/stub-harness.js';

type Stub = Awaited<ReturnType<typeof startTestStub>>;
let stub: Stub;
let failedId = 0;

beforeAll(async () => {
  buildStubBundle();
  stub = await startTestStub();
  await submitTasks(stub.url, { name: 'export_me', site: 'LOCAL_Rubin', command: 'echo {index}', count: 3 });
  const take = async () =>
    Number(new URLSearchParams((await postForm(`${stub.url}/server/panda/getJob`, { siteName: 'LOCAL_Rubin', node: 'wn7' })).text).get('PandaID'));
  const ok = await take();
  failedId = await take();
  await postForm(`${stub.url}/server/panda/updateJob`, { jobId: ok, state: 'finished', transExitCode: 0, maxRSS: 123456 });
  await postForm(`${stub.url}/server/panda/updateJob`, {
    jobId: failedId,
    state: 'failed',
    pilotErrorCode: 1305,
    pilotErrorDiag: 'payload failed',
    transExitCode: 2,
  });
});
afterAll(async () => {
  await stub.stop();
});

/** Runs the CLI without blocking this process: the stub answering it lives here. */
const cli = (...args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [STUB_BUNDLE, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });

describe('status --watch', () => {
  it('prints the overview each interval and stops after --count', async () => {
    const r = await cli('status', '--watch', '--url', stub.url, '--interval', '0.2', '--count', '2');
    expect(r.status, r.stderr).toBe(0);
    const frames = r.stdout.split(/^(?=panda-stub at )/m).filter(Boolean);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatch(/3 jobs, 2 updates, 0 order violations/);
    expect(frames[0]).toMatch(/export_me\s+running\s+\[#{10}x{10}\.{10}\] activated 1 {2}finished 1 {2}failed 1/);
  });

  it('refuses a nonsense interval clearly', async () => {
    const r = await cli('status', '--watch', '--url', stub.url, '--interval', '0');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--interval must be a positive number/);
  });
});

describe('export --format opensearch', () => {
  it('is _bulk NDJSON: an index action per job, then a document that fits the strict mapping', async () => {
    const r = await cli('export', '--url', stub.url, '--format', 'opensearch', '--index', 'rubin-jobs');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(true);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(6);
    const props = OPENSEARCH_MAPPING.properties as Record<string, { type: string }>;
    const docs = new Map<number, Record<string, unknown>>();
    for (let i = 0; i < lines.length; i += 2) {
      const action = lines[i] as { index: { _index: string; _id: string } };
      const doc = lines[i + 1]!;
      expect(action.index._index).toBe('rubin-jobs');
      expect(action.index._id).toBe(String(doc.pandaid));
      for (const [field, value] of Object.entries(doc)) {
        const type = props[field]?.type;
        expect(type, `${field} is not in the mapping`).toBeDefined();
        if (type === 'long' || type === 'integer') expect(Number.isInteger(value), `${field}=${String(value)}`).toBe(true);
        if (type === 'keyword' || type === 'text') expect(typeof value, field).toBe('string');
        if (type === 'date') expect(Number.isNaN(Date.parse(String(value))), `${field}=${String(value)}`).toBe(false);
      }
      docs.set(Number(doc.pandaid), doc);
    }
    expect(docs.get(failedId)).toMatchObject({
      jobstatus: 'failed',
      piloterrorcode: 1305,
      piloterrordiag: 'payload failed',
      transexitcode: 2,
      taskname: 'export_me',
      modificationhost: 'wn7',
      computingsite: 'LOCAL_Rubin',
    });
    expect(docs.get(failedId)?.endtime).toBeDefined();
    expect([...docs.values()].find((d) => d.jobstatus === 'finished')).toMatchObject({ maxrss: 123456, transexitcode: 0 });
    expect([...docs.values()].find((d) => d.jobstatus === 'activated')?.endtime).toBeUndefined();
  });

  it('prints the mapping to create the index with', async () => {
    const r = await cli('export', '--url', stub.url, '--format', 'opensearch-mapping');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ mappings: JSON.parse(JSON.stringify(OPENSEARCH_MAPPING)) });
  });
});
