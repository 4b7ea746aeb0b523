import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatModelName, ModelNameError, parseModelName } from './model-name';

describe('when parsing model names', () => {
  it('should read base and ft:<base>:<tenant>:<job>, and format them back', () => {
    assert.deepEqual(parseModelName('base'), { kind: 'base' });
    const ft = parseModelName('ft:cola-tiny:tenant-a:job-1');
    assert.deepEqual(ft, { kind: 'ft', base: 'cola-tiny', tenantId: 'tenant-a', jobId: 'job-1' });
    assert.equal(formatModelName(ft), 'ft:cola-tiny:tenant-a:job-1');
    assert.equal(parseModelName('ft:gpt2.small:t:j').kind, 'ft');
  });

  it('should refuse anything else with a message that shows the accepted forms', () => {
    for (const bad of [
      '',
      'Base',
      'ft:cola-tiny:tenant-a',
      'ft:cola-tiny:tenant-a:job-1:x',
      'ft::t:j',
      'gpt:b:t:j',
      'ft:b:t a:j',
      'ft:b:t:{j}',
    ]) {
      assert.throws(
        () => parseModelName(bad),
        (e: unknown) => e instanceof ModelNameError && /"base" or "ft:<base>:<tenant>:<job>"|invalid (tenant|job) id/.test(e.message),
        bad,
      );
    }
  });
});
