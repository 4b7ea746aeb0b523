import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { createProjectGraphAsync } from '@nx/devkit';
import { ROOT } from './source-files';

const RULE = '@nx/enforce-module-boundaries';

/**
 * Lints `code` as if it were the file at `path` (which need not exist: the rule finds the
 * project by the path) and returns the messages of the boundary rule.
 */
async function boundaryErrors(eslint: ESLint, path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  assert.ok(result, 'eslint linted the text');
  const fatal = result.messages.filter((m) => m.fatal);
  assert.deepEqual(fatal, [], 'the fixture parses');
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('when code imports across the layers the nx tags define', () => {
  let eslint: ESLint;

  before(async () => {
    // The rule reads nx's cached project graph (npm test builds it first); build it here too so
    // this test also runs on its own.
    await createProjectGraphAsync({ exitOnError: false });
    eslint = new ESLint({ cwd: ROOT });
  });

  // devstack's type (tooling) may use service libs, and nothing the gateway uses depends on it:
  // only the scope row can refuse this import.
  it("should fail the lint when a shared lib imports a service's own lib (scope)", async () => {
    const errors = await boundaryErrors(
      eslint,
      'libs/devstack/src/boundary-fixture.ts',
      "import { GatewayModule } from '@cola/gateway';\nexport const m = GatewayModule;\n",
    );
    assert.equal(errors.length, 1, `one boundary error, got ${JSON.stringify(errors)}`);
    assert.match(errors[0]!, /scope:shared.*can only depend on libs tagged with "scope:shared"/);
  });

  it('should fail the lint when one service imports another service (scope)', async () => {
    const errors = await boundaryErrors(
      eslint,
      'apps/merger/src/boundary-fixture.ts',
      "import { GatewayModule } from '@cola/gateway';\nexport const m = GatewayModule;\n",
    );
    assert.equal(errors.length, 1, `one boundary error, got ${JSON.stringify(errors)}`);
    assert.match(errors[0]!, /scope:merger/);
  });

  it('should fail the lint when the compute layer imports a Redis-backed lib (type)', async () => {
    const errors = await boundaryErrors(
      eslint,
      'libs/gl/src/boundary-fixture.ts',
      "import { TensorStore } from '@cola/store';\nexport const s = TensorStore;\n",
    );
    assert.ok(errors.length >= 1, 'a boundary error');
    assert.match(errors.join('\n'), /type:compute/);
  });

  it('should pass an import the matrix allows (a service lib using a shared one)', async () => {
    const errors = await boundaryErrors(
      eslint,
      'libs/gateway/src/boundary-fixture.ts',
      "import { QUEUES } from '@cola/config';\nexport const q = QUEUES;\n",
    );
    assert.deepEqual(errors, []);
  });
});
