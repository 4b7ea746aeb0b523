/**
 * `cola` installs as a command: the root package.json's `bin` points at a script that runs the CLI
 * from any directory (what `npm link` or `npm install -g` puts on the PATH).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

describe('when cola is installed as a command', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin?: Record<string, string> };

  it('should be the bin of the root package, executable, and answer --help from another directory', { timeout: 120_000 }, () => {
    const bin = pkg.bin?.cola;
    assert.ok(bin, 'package.json has bin.cola');
    const path = resolve(bin);
    accessSync(path, constants.X_OK);
    assert.match(readFileSync(path, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    const r = spawnSync(process.execPath, [path, 'jobs', '--help'], { cwd: tmpdir(), encoding: 'utf8', timeout: 110_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: cola jobs/);
    for (const cmd of ['create', 'list', 'get', 'watch']) assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`));
    assert.ok(!join(tmpdir()).startsWith(process.cwd()), 'ran outside the repository');
  });
});
