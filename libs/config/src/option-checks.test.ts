import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OptionChecks } from './option-checks';

describe('OptionChecks', () => {
  it('should collect every problem, each naming its option, what is valid and what it got', () => {
    const checks = new OptionChecks()
      .redisUrl('redisUrl', 'http://localhost')
      .int('concurrency', 0, { min: 1 })
      .int('pollMs', 5, { min: 10, max: 60_000, unit: 'of milliseconds' })
      .int('lockMs', 1.5, { min: 1 })
      .port('grpcPort', 70_000)
      .check(false, () => 'modelDir must name the base checkpoint directory');
    assert.deepEqual(checks.problems, [
      'redisUrl must start with redis:// or rediss://, e.g. redis://127.0.0.1:6379, got "http://localhost"',
      'concurrency must be an integer >= 1, got 0',
      'pollMs must be an integer from 10 to 60000 of milliseconds, got 5',
      'lockMs must be an integer >= 1, got 1.5',
      'grpcPort must be a TCP port 0-65535 (0 = any free port), got 70000',
      'modelDir must name the base checkpoint directory',
    ]);
    assert.throws(
      () => checks.throwIfAny((p) => new RangeError(`Service options: ${p.join('; ')}`)),
      (e: unknown) => e instanceof RangeError && /^Service options: redisUrl .*; modelDir must name/.test(e.message),
    );
  });

  it('should accept valid values and throw nothing', () => {
    const checks = new OptionChecks()
      .redisUrl('redisUrl', 'rediss://cache:6380')
      .int('concurrency', 1, { min: 1 })
      .int('mixWindowMs', 0, { min: 0, max: 60_000 })
      .port('grpcPort', 0)
      .check(true, 'never shown');
    assert.deepEqual(checks.problems, []);
    assert.doesNotThrow(() => checks.throwIfAny((p) => new Error(p.join())));
  });
});
