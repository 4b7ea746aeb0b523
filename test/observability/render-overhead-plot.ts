/**
 * Renders docs/communication-overhead.png from tmp/observability-run.json, the dashboard's key
 * queries that test/observability/prometheus.test.ts read from a real Prometheus after a real
 * run. Offline: chart.js from node_modules in headless Chromium (playwright-core).
 *
 *   COLA_OBS_ROWS=160 node tools/run-tests.mjs test/observability/prometheus.test.ts
 *   npx tsx test/observability/render-overhead-plot.ts
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

interface Run {
  rows: number;
  transfer: string;
  model: string;
  series: Record<string, { expr: string; values: [number, number][] }>;
}

const CHROMIUM = process.env.COLA_CHROMIUM ?? '/usr/bin/chromium';
const OUT = 'docs/communication-overhead.png';

async function main(): Promise<void> {
  const run = JSON.parse(readFileSync('tmp/observability-run.json', 'utf8')) as Run;
  const chartJs = readFileSync(createRequire(import.meta.url).resolve('chart.js/dist/chart.umd.js'), 'utf8');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 820 }, deviceScaleFactor: 1 });
    await page.setContent(`<html><body style="margin:0;background:#fff;font-family:sans-serif">
      <div style="padding:8px 16px"><b>ColA communication overhead</b>: a real run scraped by Prometheus every 1 s
      (${run.model}, ${run.rows} rows, ${run.transfer}); the dashboard's queries over [1m] windows.</div>
      <div style="width:1180px;height:380px;padding:0 10px"><canvas id="a"></canvas></div>
      <div style="width:1180px;height:380px;padding:0 10px"><canvas id="b"></canvas></div></body></html>`);
    await page.addScriptTag({ content: chartJs });
    await page.evaluate((r: Run) => {
      const Chart = (globalThis as unknown as { Chart: new (el: unknown, cfg: unknown) => unknown }).Chart;
      const pts = (k: string) => (r.series[k]?.values ?? []).filter(([, v]) => Number.isFinite(v)).map(([x, y]) => ({ x, y: y * 1000 }));
      const colors: Record<string, string> = { forward: '#4e79a7', backward: '#76b7b2', encode: '#f28e2b', write: '#e15759', queueWait: '#b07aa1', decode: '#edc948' };
      const doc = (globalThis as unknown as { document: { getElementById(id: string): unknown } }).document;
      new Chart(doc.getElementById('a'), {
        type: 'line',
        data: { datasets: Object.keys(colors).map((k) => ({ label: `${k} (ms per host step)`, data: pts(k), borderColor: colors[k], backgroundColor: colors[k], fill: false, pointRadius: 0 })) },
        options: { animation: false, responsive: true, maintainAspectRatio: false, parsing: false, scales: { x: { type: 'linear', title: { display: true, text: 'seconds since the job was submitted' } }, y: { title: { display: true, text: 'ms per host step' } } }, plugins: { title: { display: true, text: 'Stage time per host step: compute (forward, backward) vs communication (encode, write, queue wait, decode)' } } },
      });
      const ratio = (r.series.overhead?.values ?? []).filter(([, v]) => Number.isFinite(v)).map(([x, y]) => ({ x, y }));
      const bpt = (r.series.bytesPerToken?.values ?? []).filter(([, v]) => Number.isFinite(v)).map(([x, y]) => ({ x, y }));
      new Chart(doc.getElementById('b'), {
        type: 'line',
        data: { datasets: [
          { label: 'communication overhead ratio (encode + write + queue wait + decode) / host step', data: ratio, borderColor: '#e15759', yAxisID: 'y', pointRadius: 0 },
          { label: 'payload bytes per trained token', data: bpt, borderColor: '#4e79a7', yAxisID: 'y1', pointRadius: 0 },
        ] },
        options: { animation: false, responsive: true, maintainAspectRatio: false, parsing: false, scales: { x: { type: 'linear', title: { display: true, text: 'seconds since the job was submitted' } }, y: { position: 'left', title: { display: true, text: 'ratio' } }, y1: { position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'bytes / token' } } }, plugins: { title: { display: true, text: 'Derived figures (dashboard PromQL)' } } },
      });
    }, run);
    await page.screenshot({ path: OUT, fullPage: true });
    console.log(`wrote ${OUT}`);
  } finally {
    await browser.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
