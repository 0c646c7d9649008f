/**
 * The monitor page in a real browser: Debian's chromium driven by
 * playwright-core, with JavaScript off (the tables must work without it).
 * From the task list to a failed job, whose error code must be the one its
 * pilot reported; the job page shows its attempts, memory plot and the order
 * violation, and — once its log tarball is in the stub's storage — the
 * pilot's own monitor series from that tarball beside the heartbeats'
 * figures. A screenshot is saved under test/artifacts/ (path printed).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeTarGz } from '../../pilot/src/run/tar-gz.js';
import { postForm, REPO_ROOT, startTestStub, submitTasks, tempDir } from '../support/stub-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) process.stderr.write(`skipping the monitor browser test: ${CHROMIUM} is missing (apt-get install chromium; .ci/run does)\n`);

type Stub = Awaited<ReturnType<typeof startTestStub>>;
let stub: Stub;
let context: BrowserContext | undefined;
let profile: { dir: string; cleanup: () => void };

beforeAll(async () => {
  stub = await startTestStub();
  profile = tempDir('chromium-profile-');
});
afterAll(async () => {
  await context?.close();
  await stub.stop();
  profile.cleanup();
});

const legacy = (method: string) => `${stub.url}/server/panda/${method}`;
async function getJob(): Promise<number> {
  const form = new URLSearchParams((await postForm(legacy('getJob'), { siteName: 'LOCAL_Rubin', node: 'wn-browser' })).text);
  expect(form.get('StatusCode')).toBe('0');
  return Number(form.get('PandaID'));
}
async function update(id: number, n: number, state: string, extra: Record<string, string | number> = {}) {
  const reply = await postForm(legacy('updateJob'), { jobId: id, state, attemptNr: 1, ...extra }, { 'X-PanDA-Update-Seq': `${id}:1:${n}` });
  expect(reply.status).toBe(200);
}

it.skipIf(!haveChromium)(
  'clicks from the task list to a failed job and finds its error code, attempts, memory plot and violation',
  async () => {
    const [task] = await submitTasks(stub.url, { name: 'isr_browser', site: 'LOCAL_Rubin', command: 'echo {index}', count: 2, maxAttempts: 2, memoryMB: 2000 });
    const ok = await getJob();
    const bad = await getJob();
    await update(ok, 1, 'starting');
    await update(ok, 2, 'finished', { transExitCode: 0 });
    await update(bad, 1, 'starting');
    await update(bad, 2, 'running', { maxRSS: 900_000, maxPSS: 850_000 });
    await update(bad, 4, 'running', { maxRSS: 1_800_000, maxPSS: 1_700_000 });
    await update(bad, 3, 'running', { maxRSS: 1_000 }); // late: an order violation, not applied
    // The log tarball as the pilot makes it (its own writer), with a monitor series of 30 samples climbing to 2 GB, stored in the stub's storage.
    const job = `PanDA_Pilot-${bad}`;
    mkdirSync(join(profile.dir, 'log', job), { recursive: true });
    const t0 = Math.floor(Date.now() / 1000) - 60;
    const samples = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ Time: t0 + 2 * i, wtime: 2 * i, nprocs: 2, rss: 70_000 * (i + 1), pss: 65_000 * (i + 1), vmem: 0, swap: 0 }),
    );
    writeFileSync(join(profile.dir, 'log', job, 'memory_monitor_output.jsonl'), `${samples.join('\n')}\n`);
    const tgz = join(profile.dir, 'log', `${job}.log.tgz`);
    await writeTarGz(join(profile.dir, 'log'), job, tgz);
    const surl = `${stub.url}/storage/logs/${job}.log.tgz`;
    expect((await fetch(surl, { method: 'PUT', body: readFileSync(tgz) })).status).toBe(201);
    await update(bad, 5, 'failed', {
      pilotErrorCode: 1212,
      pilotErrorDiag: 'payload exceeded its memory limit (cgroup OOM)',
      maxRSS: 2_100_000,
      xml: JSON.stringify({ [`${job}.log.tgz`]: { surl } }),
    });

    context = await chromium.launchPersistentContext(profile.dir, {
      executablePath: CHROMIUM,
      headless: true,
      javaScriptEnabled: false,
      viewport: { width: 1200, height: 1400 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      timeout: 60_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    await page.goto(`${stub.url}/?refresh=0`);
    await expect(page.locator('h1').textContent()).resolves.toBe('panda-stub');
    await page.click(`#tasks tr[data-task="${task!.taskId}"] a >> text=isr_browser`);
    await page.click('text=/^failed \\(1\\)$/');
    await page.click(`#jobs tr[data-panda-id="${bad}"] a`);
    expect(page.url()).toMatch(new RegExp(`/ui/jobs/${bad}$`));
    await expect(page.locator('#error-code').textContent()).resolves.toMatch(/Error 1212/);
    await expect(page.locator('#error-diag').textContent()).resolves.toMatch(/memory limit/);
    // The OOM retry: a second attempt with more memory than the first.
    const attempts = await page.locator('#attempts tr').allTextContents();
    expect(attempts).toHaveLength(3);
    expect(attempts[1]).toMatch(/2000 MB/);
    expect(attempts[2]).toMatch(/^2/);
    // Heartbeats (RSS, PSS) and the monitor series from the log tarball (RSS, PSS).
    expect(await page.locator('#memory-plot polyline').count()).toBe(4);
    expect(await page.locator('#memory-plot polyline.monitor-series').count()).toBe(2);
    await expect(page.locator('#monitor-series').textContent()).resolves.toMatch(/30 samples from PanDA_Pilot-\d+\/memory_monitor_output\.jsonl/);
    await expect(page.locator('#updates tr.violation').textContent()).resolves.toMatch(/order violation:.*sequence 3 is not newer than 4/);

    const dir = join(REPO_ROOT, 'test', 'artifacts');
    mkdirSync(dir, { recursive: true });
    const shot = join(dir, 'monitor-failed-job.png');
    await page.screenshot({ path: shot, fullPage: true });
    process.stderr.write(`monitor screenshot: ${shot}\n`);
    expect(existsSync(shot)).toBe(true);
  },
  120_000,
);
