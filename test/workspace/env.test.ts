import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV, renderEnvDocs } from '@cola/config';
import { readSource, ROOT, sourceFiles } from './source-files';

/**
 * Variables that belong to the platform, not to us: we read them the way every tool does and
 * do not declare them (CI and NO_COLOR are conventions; Testcontainers reads the Docker ones).
 */
const PLATFORM_ENV = new Set(['CI', 'NO_COLOR', 'NODE_ENV', 'NODE_OPTIONS', 'PATH', 'HOME', 'DOCKER_HOST', 'XDG_RUNTIME_DIR']);

/** `process.env.NAME` and `process.env['NAME']`: a literal name read past libs/config. */
const LITERAL_READ = /process\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*['"]([A-Za-z0-9_]+)['"]\s*\])/g;

describe('when a process reads an environment variable', () => {
  it('should read only variables declared in libs/config (ENV), or platform ones', () => {
    const declared = new Set<string>(Object.values(ENV));
    const undeclared: string[] = [];
    let reads = 0;
    const self = 'test/workspace/env.test.ts';
    for (const file of sourceFiles(['libs', 'apps', 'tools', 'test', 'bench']).filter((f) => f !== self)) {
      for (const m of readSource(file).matchAll(LITERAL_READ)) {
        const name = (m[1] ?? m[2])!;
        reads += 1;
        if (!declared.has(name) && !PLATFORM_ENV.has(name)) undeclared.push(`${file}: ${name}`);
      }
    }
    assert.ok(reads > 0, 'the scan found the literal reads it is meant to check');
    assert.deepEqual(undeclared, [], 'declare each in libs/config/src/env-vars.ts, in the spec of the process that reads it');
  });

  it('should catch both spellings of a literal read (the scan is not blind)', () => {
    const names = [...'process.env.COLA_X ?? process.env["COLA_Y"]'.matchAll(LITERAL_READ)].map((m) => m[1] ?? m[2]);
    assert.deepEqual(names, ['COLA_X', 'COLA_Y']);
  });
});

describe('when a reader looks up a variable in the docs', () => {
  it('should find docs/configuration.md rendered from the same specs the processes load', () => {
    const onDisk = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
    assert.equal(onDisk, renderEnvDocs(), 'docs/configuration.md is stale: run npx tsx tools/gen-env-docs.ts');
    for (const name of Object.values(ENV)) assert.ok(onDisk.includes(`\`${name}\``), `${name} is documented`);
  });
});
