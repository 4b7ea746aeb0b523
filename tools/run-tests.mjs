#!/usr/bin/env node
// Runs every *.test.ts under the given folders (default: the whole workspace) with node's own
// test runner through tsx. Node 20's `--test` cannot glob, so the files are collected here.
// The output is node's spec reporter, whose closing summary CI reads.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const SKIP = new Set(['node_modules', 'dist', '.git', '.nx', 'models']);

/** @param {string} dir @returns {string[]} */
function collect(dir) {
  let out = [];
  for (const entry of readdirSync(dir)) {
    if (SKIP.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out = out.concat(collect(path));
    else if (entry.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const RELIABILITY = join('test', 'reliability');
const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('--'));
const files = (roots.length ? roots : ['libs', 'apps', 'test'])
  .flatMap((r) => {
    try {
      return statSync(r).isDirectory() ? collect(r) : [r];
    } catch {
      return [];
    }
  })
  .map((f) => relative(process.cwd(), f))
  // The reliability suite (minutes of injected faults) runs on its own, only when named:
  // npm run test:reliability, or nx run integration:test-reliability.
  .filter((f) => !f.startsWith(RELIABILITY) || roots.some((r) => relative(process.cwd(), r).startsWith(RELIABILITY)))
  .sort();

if (files.length === 0) {
  console.error(`No *.test.ts files under ${roots.join(', ') || 'libs, apps, test'}`);
  process.exit(1);
}

// Two cores: one test process at a time keeps the tfjs wasm timings and Redis-heavy tests stable.
const concurrency = process.env.COLA_TEST_CONCURRENCY ?? '1';
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...passthrough, ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'test' } },
);
process.exit(res.status ?? 1);
