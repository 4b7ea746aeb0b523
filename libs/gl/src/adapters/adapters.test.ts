import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createAdapter, initBackend, supportsGram, tf, validateAuxConfig, type AuxAdapter, type AuxConfigInput } from '../index';
import { kaimingUniformBound } from './seeded-init';
import { mulberry32 } from '@cola/data';

const D_IN = 16;
const D_OUT = 12;

function values(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

function uniform(count: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: count }, () => 2 * next() - 1);
}

/** Row-major [n, k] × [k, m] in double precision: the reference for what tf computes. */
function matmul(a: Float32Array, b: Float32Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let p = 0; p < k; p++) out[i * m + j]! += a[i * k + p]! * b[p * m + j]!;
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Runs a forward pass and copies the output out, freeing the tensor. */
function outputOf(a: AuxAdapter, x: tf.Tensor2D, opts?: { training?: boolean; dropoutSeed?: number }): Float32Array {
  const y = a.forward(x, opts);
  const v = values(y).slice();
  y.dispose();
  return v;
}

function setParam(adapter: AuxAdapter, name: string, v: Float32Array): void {
  const p = adapter.params.get(name)!;
  tf.tidy(() => p.assign(tf.tensor(v, p.shape)));
}

describe('when an adapter is created', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should initialise lowrank as LoRA does: A kaiming-uniform within 1/sqrt(dIn), B zeros', () => {
    const a = createAdapter({ type: 'lowrank', rank: 4 }, D_IN, D_OUT, { seed: 1 });
    assert.deepEqual([...a.params.keys()], ['A', 'B']);
    assert.deepEqual(a.params.get('A')!.shape, [D_IN, 4]);
    assert.deepEqual(a.params.get('B')!.shape, [4, D_OUT]);
    const A = values(a.params.get('A')!);
    const bound = 1 / Math.sqrt(D_IN);
    assert.ok(Math.abs(kaimingUniformBound(D_IN) - bound) < 1e-15);
    assert.ok(
      A.every((v) => Math.abs(v) <= bound),
      'A leaves the kaiming bound',
    );
    // A uniform sample of 64 values reaches well past half the bound and has both signs.
    assert.ok(Math.max(...A) > bound / 2 && Math.min(...A) < -bound / 2, 'A does not spread over the bound');
    assert.ok(values(a.params.get('B')!).every((v) => v === 0));
    assert.equal(a.mergeable, true);
    a.dispose();
  });

  it('should initialise linear to zeros, with a bias only when asked', () => {
    const plain = createAdapter({ type: 'linear' }, D_IN, D_OUT, { seed: 1 });
    const biased = createAdapter({ type: 'linear', bias: true }, D_IN, D_OUT, { seed: 1 });
    assert.deepEqual([...plain.params.keys()], ['V']);
    assert.deepEqual([...biased.params.keys()], ['V', 'b']);
    assert.deepEqual(biased.params.get('b')!.shape, [D_OUT]);
    for (const v of biased.params.values()) assert.ok(values(v).every((x) => x === 0));
    plain.dispose();
    biased.dispose();
  });

  it('should initialise mlp hidden layers like nn.Linear and zero the last layer', () => {
    const m = createAdapter({ type: 'mlp', hidden: [8, 10] }, D_IN, D_OUT, { seed: 2 });
    assert.deepEqual([...m.params.keys()], ['W0', 'b0', 'W1', 'b1', 'W2', 'b2']);
    assert.deepEqual(m.params.get('W1')!.shape, [8, 10]);
    assert.deepEqual(m.params.get('W2')!.shape, [10, D_OUT]);
    for (const [name, fanIn] of [
      ['W0', D_IN],
      ['b0', D_IN],
      ['W1', 8],
      ['b1', 8],
    ] as const) {
      const v = values(m.params.get(name)!);
      assert.ok(
        v.every((x) => Math.abs(x) <= 1 / Math.sqrt(fanIn)),
        `${name} leaves its bound`,
      );
      assert.ok(
        v.some((x) => x !== 0),
        `${name} is all zeros`,
      );
    }
    assert.ok(values(m.params.get('W2')!).every((x) => x === 0));
    assert.ok(values(m.params.get('b2')!).every((x) => x === 0));
    assert.equal(m.mergeable, false);
    m.dispose();
  });

  it('should give bit-identical weights for the same seed and different ones for another seed', () => {
    const a = createAdapter({ type: 'mlp', hidden: [8] }, D_IN, D_OUT, { seed: 42 });
    const b = createAdapter({ type: 'mlp', hidden: [8] }, D_IN, D_OUT, { seed: 42 });
    const c = createAdapter({ type: 'mlp', hidden: [8] }, D_IN, D_OUT, { seed: 43 });
    for (const name of a.params.keys()) assert.deepEqual(values(a.params.get(name)!), values(b.params.get(name)!));
    assert.notDeepEqual(values(a.params.get('W0')!), values(c.params.get('W0')!));
    // Two parameters of one adapter must not share a stream either.
    assert.notDeepEqual(values(a.params.get('W0')!).slice(0, 8), values(a.params.get('b0')!));
    [a, b, c].forEach((x) => x.dispose());
  });

  it('should output zeros at initialisation for every type, so training starts from the base model', () => {
    const x = tf.tensor2d(uniform(5 * D_IN, 3), [5, D_IN]);
    const configs: AuxConfigInput[] = [{ type: 'lowrank' }, { type: 'linear', bias: true }, { type: 'mlp', hidden: [8] }];
    for (const config of configs) {
      const a = createAdapter(config, D_IN, D_OUT, { seed: 9 });
      const y = a.forward(x);
      assert.deepEqual(y.shape, [5, D_OUT]);
      assert.ok(
        values(y).every((v) => v === 0),
        `${config.type} is not zero at init`,
      );
      y.dispose();
      a.dispose();
    }
    x.dispose();
  });

  it('should compute s·X·A·B for lowrank and X·V + b for linear', () => {
    const n = 3;
    const xv = uniform(n * D_IN, 4);
    const x = tf.tensor2d(xv, [n, D_IN]);
    const lr = createAdapter({ type: 'lowrank', rank: 2, scale: 0.25 }, D_IN, D_OUT, { seed: 5 });
    const B = uniform(2 * D_OUT, 6);
    setParam(lr, 'B', B);
    const A = values(lr.params.get('A')!).slice();
    const ref = matmul(Float32Array.from(matmul(xv, A, n, D_IN, 2)), B, n, 2, D_OUT).map((v) => 0.25 * v);
    const y = lr.forward(x);
    assert.ok(maxAbsDiff(values(y), ref) < 1e-6);

    const lin = createAdapter({ type: 'linear', bias: true }, D_IN, D_OUT, { seed: 5 });
    const V = uniform(D_IN * D_OUT, 7);
    const b = uniform(D_OUT, 8);
    setParam(lin, 'V', V);
    setParam(lin, 'b', b);
    const refLin = matmul(xv, V, n, D_IN, D_OUT).map((v, i) => v + b[i % D_OUT]!);
    const yl = lin.forward(x);
    assert.ok(maxAbsDiff(values(yl), refLin) < 1e-5);
    [x, y, yl].forEach((t) => t.dispose());
    lr.dispose();
    lin.dispose();
  });

  it('should apply lowrank dropout only in training mode, reproducibly for a seed', () => {
    const a = createAdapter({ type: 'lowrank', rank: 4, dropout: 0.5 }, D_IN, D_OUT, { seed: 5 });
    setParam(a, 'B', uniform(4 * D_OUT, 1));
    const x = tf.tensor2d(uniform(6 * D_IN, 2), [6, D_IN]);
    const start = tf.memory().numTensors;
    const inference = outputOf(a, x);
    const inferenceAgain = outputOf(a, x, { training: false, dropoutSeed: 3 });
    const train1 = outputOf(a, x, { training: true, dropoutSeed: 3 });
    const train2 = outputOf(a, x, { training: true, dropoutSeed: 3 });
    assert.equal(tf.memory().numTensors, start, 'forward leaked tensors');
    assert.deepEqual(inference, inferenceAgain);
    assert.deepEqual(train1, train2);
    assert.ok(maxAbsDiff(train1, inference) > 1e-3, 'dropout did not change the output');
    x.dispose();
    a.dispose();
  });

  it('should reject an input of the wrong width with a message naming the shapes', () => {
    const a = createAdapter({ type: 'linear' }, D_IN, D_OUT, { seed: 1 });
    const x = tf.zeros([2, D_IN + 1]) as tf.Tensor2D;
    assert.throws(() => a.forward(x), /linear\.forward: x must be \[N, 16\], got \[2, 17\]/);
    x.dispose();
    a.dispose();
  });

  it('should reject bad layer widths and bad initial parameters', () => {
    assert.throws(() => createAdapter({ type: 'linear' }, 0, 4), /dIn must be a positive integer/);
    assert.throws(() => createAdapter({ type: 'linear' }, 4, 2.5), /dOut must be a positive integer/);
    const before = tf.memory().numTensors;
    assert.throws(
      () =>
        createAdapter({ type: 'lowrank', rank: 2 }, 4, 3, {
          params: { A: { shape: [4, 2], values: new Float32Array(8) }, B: { shape: [3, 2], values: new Float32Array(6) } },
        }),
      /"B" has shape \[3, 2\], expected \[2, 3\]/,
    );
    assert.throws(() => createAdapter({ type: 'linear' }, 4, 3, { params: {} }), /"V" is missing/);
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('when an adapter is asked for its delta or disposed', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should give dW = s·A·B for lowrank and V, b for linear, and refuse mlp', () => {
    const lr = createAdapter({ type: 'lowrank', rank: 3, scale: 2 }, D_IN, D_OUT, { seed: 5 });
    const B = uniform(3 * D_OUT, 9);
    setParam(lr, 'B', B);
    const ref = matmul(values(lr.params.get('A')!).slice(), B, D_IN, 3, D_OUT).map((v) => 2 * v);
    const d = lr.delta();
    assert.equal(d.db, undefined);
    assert.ok(maxAbsDiff(values(d.dW), ref) < 1e-6);
    d.dW.dispose();

    const lin = createAdapter({ type: 'linear', bias: true }, D_IN, D_OUT, { seed: 5 });
    setParam(lin, 'b', uniform(D_OUT, 10));
    const dl = lin.delta();
    assert.deepEqual(values(dl.db!), values(lin.params.get('b')!));
    // The delta is the caller's: disposing it must leave the live parameters intact.
    dl.dW.dispose();
    dl.db!.dispose();
    assert.equal(lin.params.get('V')!.isDisposed, false);
    assert.equal(lin.params.get('b')!.size, D_OUT);

    const mlp = createAdapter({ type: 'mlp', hidden: [4] }, D_IN, D_OUT, { seed: 5 });
    assert.throws(() => mlp.delta(), /mlp aux is not a weight change.*serve it unmerged/);
    [lr, lin, mlp].forEach((a) => a.dispose());
  });

  it('should report how many tensors it freed', () => {
    const start = tf.memory().numTensors;
    const cases: [AuxConfigInput, number][] = [
      [{ type: 'lowrank' }, 2],
      [{ type: 'linear', bias: true }, 2],
      [{ type: 'linear' }, 1],
      [{ type: 'mlp', hidden: [8, 8] }, 6],
    ];
    for (const [config, count] of cases) {
      const a = createAdapter(config, D_IN, D_OUT, { seed: 1 });
      assert.equal(tf.memory().numTensors, start + count);
      assert.equal(a.dispose(), count);
      assert.equal(a.dispose(), 0, 'a second dispose frees nothing');
      assert.equal(tf.memory().numTensors, start);
    }
  });

  it('should allow gram transfer exactly for linear and dropout-free lowrank', () => {
    assert.equal(supportsGram(validateAuxConfig({ type: 'linear', bias: true })), true);
    assert.equal(supportsGram(validateAuxConfig({ type: 'lowrank' })), true);
    assert.equal(supportsGram(validateAuxConfig({ type: 'lowrank', dropout: 0.1 })), false);
    assert.equal(supportsGram(validateAuxConfig({ type: 'mlp' })), false);
  });
});
