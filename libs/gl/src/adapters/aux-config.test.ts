import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuxConfigError, validateAuxConfig } from '../index';

describe('when an aux config is valid', () => {
  it('should fill in the paper defaults', () => {
    assert.deepEqual(validateAuxConfig({ type: 'lowrank' }), { type: 'lowrank', rank: 8, scale: 1, dropout: 0 });
    assert.deepEqual(validateAuxConfig({ type: 'linear' }), { type: 'linear', bias: false });
    assert.deepEqual(validateAuxConfig({ type: 'mlp' }), { type: 'mlp', hidden: [128, 256], activation: 'relu' });
  });

  it('should keep the values given', () => {
    assert.deepEqual(validateAuxConfig({ type: 'lowrank', rank: 4, scale: 0.5, dropout: 0.1 }), {
      type: 'lowrank',
      rank: 4,
      scale: 0.5,
      dropout: 0.1,
    });
    assert.deepEqual(validateAuxConfig({ type: 'mlp', hidden: [32], activation: 'gelu' }), {
      type: 'mlp',
      hidden: [32],
      activation: 'gelu',
    });
  });

  it('should return a copy, so changing the result does not change the defaults', () => {
    const a = validateAuxConfig({ type: 'mlp' });
    if (a.type === 'mlp') a.hidden.push(1);
    assert.deepEqual(validateAuxConfig({ type: 'mlp' }), { type: 'mlp', hidden: [128, 256], activation: 'relu' });
  });
});

describe('when an aux config is wrong', () => {
  const BAD: [string, unknown, string, RegExp][] = [
    ['rank 0', { type: 'lowrank', rank: 0 }, 'rank', /lowrank\.rank must be an integer >= 1, got 0; use e\.g\. 8/],
    ['a fractional rank', { type: 'lowrank', rank: 2.5 }, 'rank', /lowrank\.rank must be an integer/],
    ['a negative scale', { type: 'lowrank', scale: -1 }, 'scale', /lowrank\.scale must be a finite number > 0, got -1/],
    ['dropout 1', { type: 'lowrank', dropout: 1 }, 'dropout', /lowrank\.dropout must be a finite number >= 0 and < 1/],
    ['a rank given as a string', { type: 'lowrank', rank: '8' }, 'rank', /lowrank\.rank must be an integer >= 1, got "8"/],
    ['an unknown type', { type: 'adapterx' }, 'type', /aux\.type must be one of "lowrank", "linear", "mlp", got "adapterx"/],
    ['no type', { rank: 8 }, 'type', /aux\.type is required; set it to one of "lowrank", "linear", "mlp"/],
    ['not an object', 'lowrank', '(root)', /aux config must be an object/],
    ['null', null, '(root)', /aux config must be an object/],
    [
      'a misspelt field',
      { type: 'lowrank', rnak: 4 },
      'rnak',
      /lowrank\.rnak is not a field of a lowrank config; remove it \(known fields: type, rank, scale, dropout\)/,
    ],
    ['linear bias as a string', { type: 'linear', bias: 'yes' }, 'bias', /linear\.bias must be true or false, got "yes"/],
    ['mlp hidden []', { type: 'mlp', hidden: [] }, 'hidden', /mlp\.hidden must be an array of 1 to 2 numbers, got \[\]/],
    [
      'mlp hidden with a negative width',
      { type: 'mlp', hidden: [128, -3] },
      'hidden[1]',
      /mlp\.hidden\[1\] must be an integer >= 1, got -3/,
    ],
    ['mlp with 3 hidden layers', { type: 'mlp', hidden: [8, 8, 8] }, 'hidden', /mlp\.hidden must be an array of 1 to 2 numbers/],
    [
      'an unknown activation',
      { type: 'mlp', activation: 'swish' },
      'activation',
      /mlp\.activation must be one of "relu", "gelu", "tanh", got "swish"/,
    ],
    ['a NaN scale', { type: 'lowrank', scale: Number.NaN }, 'scale', /lowrank\.scale must be a finite number/],
  ];

  for (const [label, raw, field, message] of BAD) {
    it(`should reject ${label} with an error naming ${field}`, () => {
      assert.throws(
        () => validateAuxConfig(raw),
        (e: unknown) => {
          assert.ok(e instanceof AuxConfigError, `expected an AuxConfigError, got ${String(e)}`);
          assert.equal(e.field, field);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});
