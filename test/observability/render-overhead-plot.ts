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
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

interface Run {
  rows: number;
  transfer: string;
  model: string;
  series: Record<string, { expr: string; values: [number, number][] }>;
}

const CHROMIUM = process.env.COLA_CHROMIUM ?? '/usr/bin/chromium';
const OUT = 'docs/communication-overhead.png';

/** Draws both charts in the page; `r` is the run JSON. */
const PAGE_SCRIPT = `function (r) {
  const pts = (k) => ((r.series[k] && r.series[k].values) || []).filter((p) => Number.isFinite(p[1])).map((p) => ({ x: p[0], y: p[1] * 1000 }));
  const raw = (k) => ((r.series[k] && r.series[k].values) || []).filter((p) => Number.isFinite(p[1])).map((p) => ({ x: p[0], y: p[1] }));
  const colors = { forward: '#4e79a7', backward: '#76b7b2', encode: '#f28e2b', write: '#e15759', queueWait: '#b07aa1', decode: '#edc948' };
  const x = { type: 'linear', title: { display: true, text: 'seconds since the job was submitted' } };
  new Chart(document.getElementById('a'), {
    type: 'line',
    data: { datasets: Object.keys(colors).map((k) => ({ label: k + ' (ms per host step)', data: pts(k), borderColor: colors[k], backgroundColor: colors[k], fill: false, pointRadius: 2 })) },
    options: { animation: false, responsive: true, maintainAspectRatio: false, parsing: false, scales: { x, y: { title: { display: true, text: 'ms per host step' } } },
      plugins: { title: { display: true, text: 'Stage time per host step: compute (forward, backward) vs communication (encode, write, queue wait, decode)' } } },
  });
  new Chart(document.getElementById('b'), {
    type: 'line',
    data: { datasets: [
      { label: 'communication overhead ratio = (encode + write + queue wait + decode) / host step', data: raw('overhead'), borderColor: '#e15759', backgroundColor: '#e15759', yAxisID: 'y', pointRadius: 2 },
      { label: 'payload bytes per trained token', data: raw('bytesPerToken'), borderColor: '#4e79a7', backgroundColor: '#4e79a7', yAxisID: 'y1', pointRadius: 2 },
    ] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
      scales: { x, y: { position: 'left', beginAtZero: true, title: { display: true, text: 'ratio' } }, y1: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'bytes / token' } } },
      plugins: { title: { display: true, text: 'Derived figures (the dashboard PromQL)' } } },
  });
}`;

async function main(): Promise<void> {
  const run = JSON.parse(readFileSync('tmp/observability-run.json', 'utf8')) as Run;
  const chartJs = readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js'), 'utf8');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 820 }, deviceScaleFactor: 1 });
    await page.setContent(`<html><body style="margin:0;background:#fff;font-family:sans-serif">
      <div style="padding:8px 16px"><b>ColA communication overhead</b>: a real run scraped by Prometheus every 1 s
      (${run.model}, ${run.rows} rows, ${run.transfer}); the dashboard's queries over [1m] windows.</div>
      <div style="width:1180px;height:380px;padding:0 10px"><canvas id="a"></canvas></div>
      <div style="width:1180px;height:380px;padding:0 10px"><canvas id="b"></canvas></div></body></html>`);
    await page.addScriptTag({ content: chartJs });
    // Plain JS in a string: tsx's helpers (e.g. __name) do not exist inside the page.
    await page.evaluate(`(${PAGE_SCRIPT})(${JSON.stringify(run)})`);
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
