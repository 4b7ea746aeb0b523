import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ROOT, sourceFiles } from './source-files';

interface ProjectJson {
  name: string;
  targets?: Record<string, { options?: { command?: string } }>;
}

/** Every project.json of the workspace (apps, libs and the integration tests). */
function projects(): { root: string; json: ProjectJson }[] {
  const out: { root: string; json: ProjectJson }[] = [];
  for (const top of ['apps', 'libs', 'test'])
    for (const dir of top === 'test' ? ['.'] : readdirSync(join(ROOT, top))) {
      const file = join(ROOT, top, dir, 'project.json');
      try {
        out.push({ root: relative(ROOT, dirname(file)), json: JSON.parse(readFileSync(file, 'utf8')) as ProjectJson });
      } catch {
        // a folder without a project.json is not a project
      }
    }
  return out;
}

describe("when nx runs every project's test target", () => {
  const all = projects();

  it('should find every app and lib and the integration tests as projects', () => {
    const names = all.map((p) => p.json.name);
    assert.ok(names.includes('integration') && names.includes('gateway') && names.includes('gateway-app'), names.join(', '));
    assert.ok(all.length >= 19, `${all.length} projects`);
  });

  it('should give each one a test target that runs its own folder, and that folder tests to run', () => {
    for (const { root, json } of all) {
      const command = json.targets?.test?.options?.command;
      assert.equal(command, `node tools/run-tests.mjs ${root}`, `${json.name}: its test target runs its own folder`);
      assert.ok(sourceFiles([root], ['.test.ts']).length > 0, `${json.name}: ${root} has *.test.ts files`);
    }
  });
});
