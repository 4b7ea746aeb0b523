import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mixSeed, mulberry32, permutation, randomInt } from './rng';

describe('when drawing from mulberry32', () => {
  it('should repeat the sequence for a seed and differ across seeds', () => {
    const draw = (seed: number) => {
      const rng = mulberry32(seed);
      return Array.from({ length: 5 }, () => rng());
    };
    assert.deepEqual(draw(1), draw(1));
    assert.notDeepEqual(draw(1), draw(2));
  });

  it('should spread floats uniformly over [0, 1)', () => {
    const rng = mulberry32(123);
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const x = rng();
      assert.ok(x >= 0 && x < 1);
      bins[Math.floor(x * 10)] += 1;
    }
    for (const count of bins) assert.ok(Math.abs(count - 10_000) < 500, `bin count ${count}`);
  });

  it('should draw integers below n only', () => {
    const rng = mulberry32(5);
    const seen = new Set(Array.from({ length: 1000 }, () => randomInt(rng, 7)));
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('when deriving seeds and permutations', () => {
  it('should give distinct seeds per stream, reproducibly', () => {
    const seeds = new Set(Array.from({ length: 100 }, (_, e) => mixSeed(42, e)));
    assert.equal(seeds.size, 100);
    assert.equal(mixSeed(42, 3), mixSeed(42, 3));
    assert.notEqual(mixSeed(42, 1), mixSeed(43, 0));
  });

  it('should produce a permutation of 0..n-1', () => {
    const p = permutation(100, mulberry32(9));
    assert.deepEqual(
      [...p].sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.notDeepEqual(
      p,
      Array.from({ length: 100 }, (_, i) => i),
    );
  });
});
