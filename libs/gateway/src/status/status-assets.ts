import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The folder of the page's own files: HTML, CSS and the browser script (type-checked with its own tsconfig). */
const PUBLIC_DIR = join(__dirname, 'public');

/** chart.js's self-contained browser build (the package exports no subpaths, so resolve its main file's folder). */
function chartJsBundle(): string {
  const main = createRequire(__filename).resolve('chart.js');
  return readFileSync(join(dirname(main), 'chart.umd.js'), 'utf8');
}

/** The status page's files, read once when the gateway starts: a missing file fails the start, not a request. */
export function loadStatusAssets(): Readonly<Record<'page' | 'script' | 'style' | 'chart', string>> {
  const read = (name: string): string => readFileSync(join(PUBLIC_DIR, name), 'utf8');
  return { page: read('index.html'), script: read('status.js'), style: read('status.css'), chart: chartJsBundle() };
}
