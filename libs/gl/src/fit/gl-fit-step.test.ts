import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAdapter,
  createOptimizer,
  glFitStep,
  glGradients,
  gramOf,
  initBackend,
  tf,
  type AuxAdapter,
  type AuxConfigInput,
} from '../index';
import { mulberry32 } from '@cola/data';

const N = 10;
const D_IN = 16;
const D_OUT = 8;

function uniform(count: number, seed: number, scale = 1): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: count }, () => scale * (2 * next() - 1));
}

function snapshot(adapter: AuxAdapter): Map<string, Float32Array> {
  return new Map([...adapter.params].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]));
}

describe('when a fit step runs', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  const CASES: [string, AuxConfigInput, 'raw' | 'gram'][] = [
    ['lowrank, raw', { type: 'lowrank', rank: 4 }, 'raw'],
    ['lowrank, gram', { type: 'lowrank', rank: 4 }, 'gram'],
    ['linear with bias, gram', { type: 'linear', bias: true }, 'gram'],
    ['mlp, raw', { type: 'mlp', hidden: [8, 8] }, 'raw'],
  ];
  for (const [label, config, kind] of CASES) {
    it(`should leave tf.memory().numTensors unchanged over 10 steps (${label})`, () => {
      const adapter = createAdapter(config, D_IN, D_OUT, { seed: 1 });
      const optimizer = createOptimizer({ type: 'adamw', lr: 1e-2 });
      const x = tf.tensor2d(uniform(N * D_IN, 2), [N, D_IN]);
      const g = tf.tensor2d(uniform(N * D_OUT, 3, 0.1), [N, D_OUT]);
      const data = kind === 'raw' ? ({ kind: 'raw', x, g } as const) : gramOf(x, g);
      const initial = snapshot(adapter);
      // The first step creates the optimizer slots: that is state, not a leak.
      glFitStep(adapter, optimizer, data, { lr: 1e-2, clipNorm: 1 });
      const warm = tf.memory().numTensors;
      for (let i = 0; i < 10; i++) glFitStep(adapter, optimizer, data, { lr: 1e-2, clipNorm: 1 });
      assert.equal(tf.memory().numTensors, warm);
      assert.equal(optimizer.stepCount, 11);
      const after = snapshot(adapter);
      assert.ok(
        [...after].some(([n, v]) => v.some((x, i) => x !== initial.get(n)![i])),
        'the parameters did not move',
      );
      if (data.kind === 'gram') [data.xtg, data.colsumG].forEach((t) => t.dispose());
      [x, g].forEach((t) => t.dispose());
      adapter.dispose();
      optimizer.dispose();
    });
  }

  it('should report the gradient norm and take exactly one SGD step of -lr·gradient', () => {
    const adapter = createAdapter({ type: 'linear', bias: true }, D_IN, D_OUT, { seed: 1 });
    const optimizer = createOptimizer({ type: 'sgd' });
    const x = tf.tensor2d(uniform(N * D_IN, 4), [N, D_IN]);
    const g = tf.tensor2d(uniform(N * D_OUT, 5, 0.1), [N, D_OUT]);
    const grads = glGradients(adapter, { kind: 'raw', x, g });
    let sq = 0;
    for (const t of grads.values()) for (const v of t.dataSync()) sq += v * v;
    const before = snapshot(adapter);
    const { gradNorm } = glFitStep(adapter, optimizer, { kind: 'raw', x, g }, { lr: 0.5 });
    assert.ok(Math.abs(gradNorm - Math.sqrt(sq)) < 1e-5 * Math.sqrt(sq));
    for (const [name, v] of snapshot(adapter)) {
      const grad = grads.get(name)!.dataSync();
      v.forEach((p, i) => assert.ok(Math.abs(p - (before.get(name)![i]! - 0.5 * grad[i]!)) < 1e-6, `${name}[${i}]`));
    }
    [...grads.values(), x, g].forEach((t) => t.dispose());
    adapter.dispose();
    optimizer.dispose();
  });

  it('should clip the update to clipNorm when asked', () => {
    const adapter = createAdapter({ type: 'linear' }, D_IN, D_OUT, { seed: 1 });
    const optimizer = createOptimizer({ type: 'sgd' });
    const x = tf.tensor2d(uniform(N * D_IN, 6, 10), [N, D_IN]);
    const g = tf.tensor2d(uniform(N * D_OUT, 7, 10), [N, D_OUT]);
    const { gradNorm } = glFitStep(adapter, optimizer, { kind: 'raw', x, g }, { lr: 1, clipNorm: 0.5 });
    assert.ok(gradNorm > 0.5, 'the test needs a gradient larger than the clip');
    // V starts at zero and SGD with lr 1 moves it by the clipped gradient, whose norm is the clip.
    const moved = Math.sqrt(Array.from(adapter.params.get('V')!.dataSync()).reduce((s, v) => s + v * v, 0));
    assert.ok(Math.abs(moved - 0.5) < 1e-5, `moved by ${moved}`);
    [x, g].forEach((t) => t.dispose());
    adapter.dispose();
    optimizer.dispose();
  });

  it('should give the same update from gram and from raw data', () => {
    const a = createAdapter({ type: 'lowrank', rank: 4 }, D_IN, D_OUT, { seed: 8 });
    const b = createAdapter({ type: 'lowrank', rank: 4 }, D_IN, D_OUT, { seed: 8 });
    const oa = createOptimizer({ type: 'adamw' });
    const ob = createOptimizer({ type: 'adamw' });
    for (let s = 0; s < 3; s++) {
      const x = tf.tensor2d(uniform(N * D_IN, 10 + s), [N, D_IN]);
      const g = tf.tensor2d(uniform(N * D_OUT, 20 + s, 0.1), [N, D_OUT]);
      const gram = gramOf(x, g);
      glFitStep(a, oa, { kind: 'raw', x, g }, { lr: 1e-2 });
      glFitStep(b, ob, gram, { lr: 1e-2 });
      [x, g, gram.xtg, gram.colsumG].forEach((t) => t.dispose());
    }
    const pa = snapshot(a);
    for (const [name, v] of snapshot(b)) {
      const ref = pa.get(name)!;
      let num = 0;
      let den = 0;
      v.forEach((x, i) => {
        num += (x - ref[i]!) ** 2;
        den += ref[i]! ** 2;
      });
      assert.ok(Math.sqrt(num / den) < 1e-5, `${name}: relative difference ${Math.sqrt(num / den)}`);
    }
    [a, b, oa, ob].forEach((o) => o.dispose());
  });
});
