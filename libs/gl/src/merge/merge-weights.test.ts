import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createAdapter, deltaWeights, initBackend, mergeWeights, tf, unmergeWeights, type AuxAdapter, type AuxConfigInput } from '../index';
import { mulberry32 } from '@cola/data';

const N = 6;
const D_IN = 16;
const D_OUT = 12;

function uniform(count: number, seed: number, scale = 1): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: count }, () => scale * (2 * next() - 1));
}

function randomize(adapter: AuxAdapter, seed: number): void {
  let i = 0;
  for (const v of adapter.params.values()) tf.tidy(() => v.assign(tf.tensor(uniform(v.size, seed + i++, 0.5), v.shape)));
}

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  const av = a.dataSync();
  const bv = b.dataSync();
  const scale = Math.max(...Array.from(bv, Math.abs));
  return Math.max(...Array.from(av, (v, i) => Math.abs(v - bv[i]!))) / scale;
}

describe('when a mergeable aux is merged into its base layer', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  const CASES: [string, AuxConfigInput][] = [
    ['lowrank', { type: 'lowrank', rank: 4, scale: 0.5 }],
    ['linear with bias', { type: 'linear', bias: true }],
    ['linear without bias', { type: 'linear' }],
  ];
  for (const [label, config] of CASES) {
    it(`should serve X (W + dW) + b + db equal to X W + b + g(X) for ${label}`, () => {
      const start = tf.memory().numTensors;
      const adapter = createAdapter(config, D_IN, D_OUT, { seed: 2 });
      randomize(adapter, 30);
      const x = tf.tensor2d(uniform(N * D_IN, 1), [N, D_IN]);
      const w = tf.tensor2d(uniform(D_IN * D_OUT, 2, 0.3), [D_IN, D_OUT]);
      const b = tf.tensor1d(uniform(D_OUT, 3, 0.1));
      const delta = deltaWeights(adapter);
      const merged = mergeWeights(w, b, delta);
      const unmergedOut = tf.tidy(() => tf.add(tf.add(tf.matMul(x, w), b), adapter.forward(x)));
      const mergedOut = tf.tidy(() => tf.add(tf.matMul(x, merged.w), merged.b!));
      const err = maxRelDiff(mergedOut, unmergedOut);
      assert.ok(err < 1e-5, `merged and unmerged outputs differ by ${err}`);

      const back = unmergeWeights(merged.w, merged.b, delta);
      assert.ok(maxRelDiff(back.w, w) < 1e-6, 'unmerge did not restore W');
      assert.ok(maxRelDiff(back.b!, b) < 1e-6, 'unmerge did not restore b');
      tf.dispose([x, w, b, delta.dW, ...(delta.db ? [delta.db] : []), merged.w, merged.b!, back.w, back.b!, unmergedOut, mergedOut]);
      adapter.dispose();
      assert.equal(tf.memory().numTensors, start, 'merging leaked tensors');
    });
  }

  it('should give a layer without bias the aux bias, and scale a delta for a collaborative merge', () => {
    const adapter = createAdapter({ type: 'linear', bias: true }, D_IN, D_OUT, { seed: 2 });
    randomize(adapter, 40);
    const w = tf.tensor2d(uniform(D_IN * D_OUT, 5), [D_IN, D_OUT]);
    const delta = deltaWeights(adapter);
    const noBias = mergeWeights(w, undefined, delta);
    assert.deepEqual(Array.from(noBias.b!.dataSync()), Array.from(delta.db!.dataSync()));
    // Two halves of one delta make the whole delta: what the mean over K = 2 equal tenants gives.
    const half = mergeWeights(w, undefined, delta, 0.5);
    const twice = mergeWeights(half.w, half.b, delta, 0.5);
    assert.ok(maxRelDiff(twice.w, noBias.w) < 1e-6);
    assert.ok(maxRelDiff(twice.b!, noBias.b!) < 1e-6);
    tf.dispose([w, delta.dW, delta.db!, noBias.w, noBias.b!, half.w, half.b!, twice.w, twice.b!]);
    adapter.dispose();
  });

  it('should refuse an mlp aux and a delta of the wrong shape', () => {
    const mlp = createAdapter({ type: 'mlp', hidden: [4] }, D_IN, D_OUT, { seed: 1 });
    assert.throws(() => deltaWeights(mlp), /mlp aux is not mergeable; serve it unmerged/);
    const w = tf.zeros([D_IN, D_OUT]) as tf.Tensor2D;
    const dW = tf.zeros([D_OUT, D_IN]) as tf.Tensor2D;
    assert.throws(() => mergeWeights(w, undefined, { dW }), /dW \[12, 16\] does not fit W \[16, 12\]/);
    tf.dispose([w, dW]);
    mlp.dispose();
  });
});
