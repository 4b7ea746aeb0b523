/**
 * The web status page in Debian's headless Chromium (playwright-core) against the running stack:
 * a tenant's job appears in the list, its loss chart gains points and its validation chart a
 * curve while it trains, and a screenshot is saved under test-artifacts/ (the one in
 * docs/status-page.png comes from this test).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { toJsonl } from '@cola/data';
import { LocalStack, removeDir, writeTinyCheckpoint } from '@cola/devstack';
import { initBackend } from '@cola/gl';
import { driveJobTo, JobStore } from '@cola/pipeline';
import { useRedis } from '@cola/testing';
import { launchChromium } from './support/chromium';
import { questionRows } from '../support/question-rows';

const ADMIN_KEY = 'status-page-admin-key-0123456789';

async function api<T>(url: string, key: string, init: { method?: string; json?: unknown; form?: FormData } = {}): Promise<T> {
  const res = await fetch(url, {
    method: init.method ?? (init.json || init.form ? 'POST' : 'GET'),
    headers: { authorization: `Bearer ${key}`, ...(init.json ? { 'content-type': 'application/json' } : {}) },
    body: init.form ?? (init.json ? JSON.stringify(init.json) : undefined),
  });
  const text = await res.text();
  assert.ok(res.ok, `${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Chart.js's data of a canvas on the page. */
/** The page's DOM as the browser-side functions below use it (the test's TypeScript has no DOM lib). */
interface PageDom {
  document: { getElementById(id: string): { dataset: Record<string, string | undefined>; textContent: string | null } | null };
}

/** Chart.js as the page exposes it. */
interface ChartGlobal {
  getChart(id: string): { data: { datasets: { data: unknown[] }[] } } | undefined;
}

const POINTS = (id: string): number => {
  const chart = (globalThis as unknown as { Chart: ChartGlobal }).Chart.getChart(id);
  return chart ? chart.data.datasets[0]!.data.length : -1;
};

describe('when a tenant opens the status page while a job trains', () => {
  const redis = useRedis();
  let stack: LocalStack;
  let modelDir: string;
  let browser: Awaited<ReturnType<typeof launchChromium>>;

  before(async () => {
    await redis.whenReady();
    await initBackend({ log: null });
    modelDir = await writeTinyCheckpoint(2);
    stack = new LocalStack({
      defaultPorts: false,
      redisUrl: redis.url,
      modelDir,
      adminKey: ADMIN_KEY,
      trainers: 1,
      log: process.env.COLA_TEST_VERBOSE ? undefined : () => undefined,
    });
    await stack.start();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    if (modelDir) removeDir(modelDir);
  });

  it('should list the job, draw its loss and validation curves, and save a screenshot', { timeout: 240_000 }, async () => {
    const base = stack.apiUrl;
    await api(`${base}/v1/admin/tenants`, ADMIN_KEY, { json: { id: 'viewer', name: 'Viewer' } });
    const { key } = await api<{ key: string }>(`${base}/v1/admin/tenants/viewer/api_keys`, ADMIN_KEY, { json: {} });
    const upload = async (name: string, body: string): Promise<{ id: string }> => {
      const form = new FormData();
      form.append('purpose', 'fine-tune');
      form.append('file', new Blob([body]), name);
      return api<{ id: string }>(`${base}/v1/files`, key, { form });
    };
    // Training rows first, held-out rows after them for the validation file.
    const all = questionRows(96);
    const file = await upload('q.jsonl', toJsonl(all.slice(0, 64)));
    const validation = await upload('q-validation.jsonl', toJsonl(all.slice(64)));
    // Enough epochs that the job is still running while the page watches it, and a validation
    // point every epoch (8 steps), so the validation chart draws a curve while it trains.
    const job = await api<{ id: string }>(`${base}/v1/fine_tuning/jobs`, key, {
      json: {
        model: 'cola-tiny',
        training_file: file.id,
        validation_file: validation.id,
        hyperparameters: { n_epochs: 40, batch_size: 8, max_length: 32, validation_every: 8 },
      },
    });

    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${base}/status?key=${encodeURIComponent(key)}`);
    await page.locator(`tr[data-job-id="${job.id}"]`).waitFor({ timeout: 30_000 });
    await page.waitForFunction((id) => (globalThis as unknown as PageDom).document.getElementById('detail')?.dataset.jobId === id, job.id);
    await page.waitForFunction(POINTS, 'loss-chart', { timeout: 60_000, polling: 200 });
    const first = await page.evaluate(POINTS, 'loss-chart');
    assert.ok(first >= 1, 'the loss chart has a point');
    await page.waitForFunction(
      ([id, n]) =>
        (globalThis as unknown as { Chart: ChartGlobal }).Chart.getChart(id as string)!.data.datasets[0]!.data.length > (n as number),
      ['loss-chart', first] as const,
      { timeout: 60_000, polling: 200 },
    );
    const later = await page.evaluate(POINTS, 'loss-chart');
    console.log(`loss chart points: ${first} → ${later}`);
    assert.ok(later > first, `the loss chart gained points (${first} → ${later})`);
    assert.match(
      (await page.locator(`tr[data-job-id="${job.id}"]`).innerText()).replace(/\s+/g, ' '),
      /running/,
      'the chart grew while the job was running',
    );
    assert.ok((await page.evaluate(POINTS, 'overhead-chart')) >= 1, 'the communication chart has data');
    // The validation curve: the starting model's score, then a point every validation_every steps.
    // Wait for a few points so the screenshot shows a curve; two are required.
    await page
      .waitForFunction(
        ([id, n]) => (globalThis as unknown as { Chart: ChartGlobal }).Chart.getChart(id)!.data.datasets[0]!.data.length >= n,
        ['validation-chart', 4] as const,
        {
          timeout: 90_000,
          polling: 250,
        },
      )
      .catch(() => undefined);
    const validationPoints = await page.evaluate(POINTS, 'validation-chart');
    console.log(`validation chart points: ${validationPoints}`);
    assert.ok(validationPoints >= 2, `the validation chart has ${validationPoints} points while the job trains`);
    // The job's events are listed under the charts, and its ETA comes from the measured step rate.
    await page.locator('#event-rows tr').first().waitFor({ timeout: 30_000 });
    assert.ok((await page.locator('#event-rows tr').count()) >= 1, 'the events are listed');
    let eta: number | null = null;
    for (let i = 0; i < 60 && eta === null; i++) {
      eta = (await api<{ estimated_finish: number | null }>(`${base}/v1/fine_tuning/jobs/${job.id}`, key)).estimated_finish;
      if (eta === null) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(Number.isInteger(eta) && eta! >= Math.floor(Date.now() / 1000) - 5, `estimated_finish ${eta}`);
    assert.deepEqual(problems, [], 'no script errors');

    mkdirSync('test-artifacts', { recursive: true });
    const shot = join('test-artifacts', 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(existsSync(shot) && statSync(shot).size > 10_000, 'screenshot saved');

    // The page works only with a valid key: a wrong one shows the gateway's error.
    await page.goto(`${base}/status?key=sk-cola-wrong`);
    await page.waitForFunction(() =>
      ((globalThis as unknown as PageDom).document.getElementById('error')?.textContent ?? '').includes('invalid_api_key'),
    );
    // Stop the long job so the stack shuts down at once.
    await fetch(`${base}/v1/fine_tuning/jobs/${job.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });

    // A failed job says why, in the table and for the selected job: fail one through the job
    // lifecycle, as the gpu-host does when training diverges.
    const doomed = await api<{ id: string }>(`${base}/v1/fine_tuning/jobs`, key, {
      json: { model: 'cola-tiny', training_file: file.id, hyperparameters: { n_epochs: 1, batch_size: 8, max_length: 32 } },
    });
    const reason = { code: 'training_diverged' as const, message: 'the loss became NaN at step 3; lower the learning rate', param: null };
    await driveJobTo(new JobStore(redis.client()), doomed.id, 'failed', reason);
    await page.goto(`${base}/status?key=${encodeURIComponent(key)}&job=${doomed.id}`);
    const row = page.locator(`tr[data-job-id="${doomed.id}"]`);
    await row.locator('td.reason').filter({ hasText: 'training_diverged' }).waitFor({ timeout: 30_000 });
    assert.match(await row.innerText(), /failed[\s\S]*training_diverged: the loss became NaN at step 3/);
    await page.locator('#job-error').filter({ hasText: 'training_diverged' }).waitFor({ timeout: 30_000 });
    assert.match(await page.locator('#job-error').innerText(), /^Failed: training_diverged: the loss became NaN at step 3/);
    assert.deepEqual(problems, [], 'no script errors');
  });
});
