import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clipGradNorm, initBackend, tf } from '../index';

describe('when gradients are clipped by their global norm', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  const values = { a: [3, 0, 0, 4], b: [12] };
  const norm = Math.sqrt(9 + 16 + 144); // 13
  const make = () =>
    new Map([
      ['a', tf.tensor2d(values.a, [2, 2])],
      ['b', tf.tensor1d(values.b)],
    ] as [string, tf.Tensor][]);

  it('should scale every gradient by maxNorm / norm when the norm is larger, and report the norm before clipping', () => {
    const grads = make();
    const { grads: clipped, totalNorm } = clipGradNorm(grads, 1);
    assert.ok(Math.abs(totalNorm - norm) < 1e-5);
    const coef = 1 / (norm + 1e-6);
    for (const [name, g] of clipped) {
      const want = values[name as 'a' | 'b'].map((v) => v * coef);
      Array.from(g.dataSync()).forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-6, `${name}[${i}]`));
    }
    let sq = 0;
    for (const g of clipped.values()) for (const x of g.dataSync()) sq += x * x;
    assert.ok(Math.abs(Math.sqrt(sq) - 1) < 1e-5, 'the clipped norm is maxNorm');
    [...grads.values(), ...clipped.values()].forEach((t) => t.dispose());
  });

  it('should leave gradients unchanged when their norm is below maxNorm', () => {
    const grads = make();
    const { grads: clipped } = clipGradNorm(grads, 100);
    for (const [name, g] of clipped) assert.deepEqual(Array.from(g.dataSync()), values[name as 'a' | 'b']);
    [...grads.values(), ...clipped.values()].forEach((t) => t.dispose());
  });

  it('should refuse a max norm that is not positive', () => {
    const grads = make();
    assert.throws(() => clipGradNorm(grads, 0), /clipNorm must be a finite number > 0/);
    grads.forEach((t) => t.dispose());
  });
});
