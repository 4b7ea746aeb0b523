import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const COMMITTED = join(ROOT, 'libs/proto/src/gen');
const BUF = join(ROOT, 'node_modules/.bin/buf');

/** Every file under `dir`, as sorted paths relative to it. */
function listFiles(dir: string): string[] {
  const walk = (d: string): string[] =>
    readdirSync(d)
      .sort()
      .flatMap((e) => (statSync(join(d, e)).isDirectory() ? walk(join(d, e)) : [join(d, e)]));
  return walk(dir).map((f) => relative(dir, f));
}

/** Why buf cannot run here, or undefined when it can. */
function bufUnavailable(): string | undefined {
  const res = spawnSync(BUF, ['--version'], { encoding: 'utf8' });
  if (res.error) return res.error.message;
  return res.status === 0 ? undefined : `buf --version exited with ${res.status}: ${res.stderr}`;
}

describe('when the cola.v1 TypeScript is regenerated from the .proto files', () => {
  it('should reproduce the committed src/gen byte for byte', (t) => {
    const why = bufUnavailable();
    if (why !== undefined) {
      t.skip(`buf cannot run on this machine (${why}); regeneration was not checked`);
      return;
    }
    const out = mkdtempSync(join(tmpdir(), 'cola-proto-check-'));
    try {
      const res = spawnSync(process.execPath, [join(ROOT, 'tools/gen-proto.mjs'), '--out', out], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(res.status, 0, `gen-proto failed:\n${res.stdout}\n${res.stderr}`);
      const fresh = listFiles(out);
      assert.deepStrictEqual(fresh, listFiles(COMMITTED), 'same file list (run `npm run proto:gen` and commit src/gen)');
      assert.ok(fresh.length >= 7, 'one module per .proto file');
      for (const file of fresh) {
        const committed = readFileSync(join(COMMITTED, file));
        assert.ok(committed.equals(readFileSync(join(out, file))), `${file} differs from a fresh generation: run \`npm run proto:gen\``);
        assert.match(committed.toString('utf8', 0, 300), /^\/\/ @generated .*\n\/\/ Do not edit/, `${file} carries the @generated header`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
