/**
 * Renders a pretraining run's held-out perplexity against tokens seen as a PNG next to its model
 * card, from the run state that `npm run pretrain -- --run-dir <dir> --eval-every N` keeps.
 * Offline: chart.js from node_modules in headless Chromium (playwright-core).
 *
 *   npx tsx tools/render-pretrain-plot.ts <run-dir> <out.png>
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.COLA_CHROMIUM ?? '/usr/bin/chromium';

interface Point {
  step: number;
  tokensSeen: number;
  perplexity: number;
}

async function main(): Promise<void> {
  const [runDir, out] = process.argv.slice(2);
  if (!runDir || !out) throw new Error('usage: render-pretrain-plot.ts <run-dir> <out.png>');
  const state = JSON.parse(readFileSync(join(runDir, 'pretrain-state.json'), 'utf8')) as { curve: Point[] };
  const points = state.curve.map((p) => ({ x: p.tokensSeen / 1e6, y: p.perplexity }));
  const chartJs = readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js'), 'utf8');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 480 }, deviceScaleFactor: 1 });
    await page.setContent(
      '<html><body style="margin:0;background:#fff"><div style="width:880px;height:460px;padding:10px"><canvas id="c"></canvas></div></body></html>',
    );
    await page.addScriptTag({ content: chartJs });
    // Plain JS in a string: tsx's helpers do not exist inside the page.
    await page.evaluate(`new Chart(document.getElementById('c'), {
      type: 'line',
      data: { datasets: [{ label: 'held-out perplexity per byte', data: ${JSON.stringify(points)}, borderColor: '#4e79a7', backgroundColor: '#4e79a7', pointRadius: 4 }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
        scales: { x: { type: 'linear', title: { display: true, text: 'training tokens seen (millions)' } }, y: { title: { display: true, text: 'perplexity (per byte)' } } },
        plugins: { title: { display: true, text: 'cola-tiny pretraining: held-out perplexity against tokens seen' } } },
    })`);
    await page.screenshot({ path: out });
    console.log(`wrote ${out} (${points.length} points)`);
  } finally {
    await browser.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
