#!/usr/bin/env node
// `npm test`: type-check, lint, then every test with node's test runner (whose summary closes the
// output, so CI can read the counts). Stops at the first failing stage.
import { spawnSync } from 'node:child_process';

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const stages = [
  // The module-boundary lint rule reads nx's cached project graph, so build the graph first.
  ['project graph', npx, ['nx', 'graph', '--file=tmp/project-graph.json']],
  ['type-check', npx, ['tsc', '-p', 'tsconfig.json']],
  // The status page's browser script (plain JS with JSDoc types, DOM lib): its own program.
  ['type-check (status page script)', npx, ['tsc', '-p', 'libs/gateway/src/status/public/tsconfig.json']],
  ['format', npx, ['prettier', '--check', '.']],
  ['lint', npx, ['eslint', '.', '--max-warnings=0']],
  ['tests', process.execPath, ['tools/run-tests.mjs', ...process.argv.slice(2)]],
];
for (const [name, cmd, args] of stages) {
  console.log(`\n== ${name}: ${cmd === process.execPath ? 'node' : cmd} ${args.join(' ')}`);
  const res = spawnSync(cmd, args, { stdio: 'inherit' });
  if (res.status !== 0) {
    console.error(`\n${name} failed (exit ${res.status ?? res.signal})`);
    process.exit(res.status ?? 1);
  }
}
