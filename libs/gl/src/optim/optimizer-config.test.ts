import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OptimizerConfigError, validateOptimizerConfig } from '../index';

describe('when an optimizer config is valid', () => {
  it('should fill in the paper AdamW defaults and torch SGD defaults', () => {
    assert.deepEqual(validateOptimizerConfig({ type: 'adamw' }), {
      type: 'adamw',
      lr: 3e-4,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 5e-4,
    });
    assert.deepEqual(validateOptimizerConfig({ type: 'sgd' }), {
      type: 'sgd',
      lr: 1e-3,
      momentum: 0,
      dampening: 0,
      nesterov: false,
      weightDecay: 0,
    });
  });

  it('should accept nesterov with momentum', () => {
    assert.equal(validateOptimizerConfig({ type: 'sgd', momentum: 0.9, nesterov: true }).type, 'sgd');
  });
});

describe('when an optimizer config is wrong', () => {
  const BAD: [string, unknown, string, RegExp][] = [
    ['a negative lr', { type: 'adamw', lr: -0.001 }, 'lr', /adamw\.lr must be a finite number >= 0, got -0\.001/],
    ['an infinite lr', { type: 'sgd', lr: Infinity }, 'lr', /sgd\.lr must be a finite number/],
    ['beta1 = 1', { type: 'adamw', betas: [1, 0.999] }, 'betas[0]', /adamw\.betas\[0\] must be a finite number >= 0 and < 1, got 1/],
    ['a negative beta2', { type: 'adamw', betas: [0.9, -0.1] }, 'betas[1]', /adamw\.betas\[1\] must be a finite number >= 0 and < 1/],
    ['three betas', { type: 'adamw', betas: [0.9, 0.99, 0.999] }, 'betas', /adamw\.betas must be an array of 2 to 2 numbers/],
    ['eps 0', { type: 'adamw', eps: 0 }, 'eps', /adamw\.eps must be a finite number > 0/],
    ['a negative weight decay', { type: 'adamw', weightDecay: -1 }, 'weightDecay', /adamw\.weightDecay must be a finite number >= 0/],
    [
      'nesterov without momentum',
      { type: 'sgd', nesterov: true },
      'nesterov',
      /sgd\.nesterov needs momentum > 0 and dampening = 0 \(got momentum 0, dampening 0\)/,
    ],
    [
      'nesterov with dampening',
      { type: 'sgd', momentum: 0.9, dampening: 0.1, nesterov: true },
      'nesterov',
      /needs momentum > 0 and dampening = 0/,
    ],
    ['momentum 1', { type: 'sgd', momentum: 1 }, 'momentum', /sgd\.momentum must be a finite number >= 0 and < 1/],
    ['an unknown type', { type: 'adam' }, 'type', /optimizer\.type must be one of "adamw", "sgd", got "adam"/],
    ['a field of the other optimizer', { type: 'sgd', betas: [0.9, 0.99] }, 'betas', /sgd\.betas is not a field of a sgd config/],
    ['not an object', 3, '(root)', /optimizer config must be an object/],
  ];
  for (const [label, raw, field, message] of BAD) {
    it(`should reject ${label} with an error naming ${field}`, () => {
      assert.throws(
        () => validateOptimizerConfig(raw),
        (e: unknown) => {
          assert.ok(e instanceof OptimizerConfigError, `expected an OptimizerConfigError, got ${String(e)}`);
          assert.equal(e.field, field);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});
