import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createAdapter, gramOf, glGradients, initBackend, tf, type AuxAdapter, type AuxConfigInput } from '../index';
import { mulberry32 } from '@cola/data';

const N = 12;
const D_IN = 16;
const D_OUT = 8;

function randn(count: number, seed: number, scale = 1): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(count);
  // Box-Muller: normal values give a more realistic spread than uniform ones.
  for (let i = 0; i < count; i++) out[i] = scale * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return out;
}

/** Gives every parameter random values: at init B / V / the last mlp layer are zero, which would hide bugs. */
function randomize(adapter: AuxAdapter, seed: number): void {
  let i = 0;
  for (const v of adapter.params.values()) {
    tf.tidy(() => v.assign(tf.tensor(randn(v.size, seed + 101 * i++, 0.3), v.shape)));
  }
}

/** ‖a − b‖ / ‖b‖ in double precision. */
function relErr(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  assert.ok(den > 0, 'reference gradient is all zeros: the test would prove nothing');
  return Math.sqrt(num / den);
}

/** A real downstream task: a frozen linear layer W, b plus the aux, then mean cross-entropy. */
function makeTask(seed: number) {
  const x = tf.tensor2d(randn(N * D_IN, seed), [N, D_IN]);
  const w = tf.tensor2d(randn(D_IN * D_OUT, seed + 1, 0.25), [D_IN, D_OUT]);
  const b = tf.tensor1d(randn(D_OUT, seed + 2, 0.1));
  const next = mulberry32(seed + 3);
  const labels = tf.cast(
    tf.oneHot(
      tf.tensor1d(
        Array.from({ length: N }, () => Math.floor(next() * D_OUT)),
        'int32',
      ),
      D_OUT,
    ),
    'float32',
  );
  const lossOf = (hTilde: tf.Tensor2D): tf.Scalar => tf.neg(tf.mean<tf.Scalar>(tf.sum(tf.mul(labels, tf.logSoftmax(hTilde)), 1)));
  const base = (): tf.Tensor2D => tf.add(tf.matMul(x, w), b);
  return { x, lossOf, base, dispose: () => [x, w, b, labels].forEach((t) => t.dispose()) };
}

/** Back-propagation through the real loss: the reference the GL gradient must equal. */
function backpropGrads(adapter: AuxAdapter, task: ReturnType<typeof makeTask>, dropoutSeed?: number): Map<string, Float32Array> {
  const training = dropoutSeed !== undefined;
  const { value, grads } = tf.variableGrads(
    () => task.lossOf(tf.add(task.base(), adapter.forward(task.x, { training, dropoutSeed }))),
    [...adapter.params.values()],
  );
  const out = new Map([...adapter.params].map(([name, v]) => [name, grads[v.name]!.dataSync().slice() as Float32Array]));
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

/** The host step: G = dL/dh~ at the current aux output, with no parameter gradient at all. */
function hiddenGradient(adapter: AuxAdapter, task: ReturnType<typeof makeTask>, dropoutSeed?: number): tf.Tensor2D {
  return tf.tidy(() => {
    const hTilde = tf.add(task.base(), adapter.forward(task.x, { training: dropoutSeed !== undefined, dropoutSeed }));
    return tf.grad((h: tf.Tensor) => task.lossOf(h as tf.Tensor2D))(hTilde) as tf.Tensor2D;
  });
}

const CASES: [string, AuxConfigInput][] = [
  ['lowrank', { type: 'lowrank', rank: 4, scale: 0.5 }],
  ['linear with bias', { type: 'linear', bias: true }],
  ['linear without bias', { type: 'linear' }],
  ['mlp (relu, 2 hidden layers)', { type: 'mlp', hidden: [8, 12], activation: 'relu' }],
  ['mlp (gelu, 1 hidden layer)', { type: 'mlp', hidden: [10], activation: 'gelu' }],
  ['mlp (tanh)', { type: 'mlp', hidden: [6, 6], activation: 'tanh' }],
];

describe('when fitting from raw adaptation data', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  for (const [label, config] of CASES) {
    it(`should give the back-propagation gradient of the real loss for ${label}`, (t) => {
      const task = makeTask(7);
      const adapter = createAdapter(config, D_IN, D_OUT, { seed: 3 });
      randomize(adapter, 11);
      const expected = backpropGrads(adapter, task);
      const g = hiddenGradient(adapter, task);
      const got = glGradients(adapter, { kind: 'raw', x: task.x, g });
      assert.deepEqual([...got.keys()], [...adapter.params.keys()]);
      const errors: string[] = [];
      for (const [name, grad] of got) {
        const err = relErr(grad.dataSync() as Float32Array, expected.get(name)!);
        assert.ok(err <= 1e-5, `${label} ${name}: relative error ${err.toExponential(2)} > 1e-5`);
        errors.push(`${name} ${err.toExponential(1)}`);
      }
      t.diagnostic(`relative error vs back-propagation: ${errors.join(', ')}`);
      got.forEach((t) => t.dispose());
      g.dispose();
      adapter.dispose();
      task.dispose();
    });
  }

  it('should equal back-propagation for a lowrank aux with dropout when the host dropout seed is reused', () => {
    const task = makeTask(8);
    const adapter = createAdapter({ type: 'lowrank', rank: 4, dropout: 0.3 }, D_IN, D_OUT, { seed: 4 });
    randomize(adapter, 12);
    const expected = backpropGrads(adapter, task, 99);
    const g = hiddenGradient(adapter, task, 99);
    const got = glGradients(adapter, { kind: 'raw', x: task.x, g }, { dropoutSeed: 99 });
    const without = backpropGrads(adapter, task);
    for (const [name, grad] of got) {
      const err = relErr(grad.dataSync() as Float32Array, expected.get(name)!);
      assert.ok(err <= 1e-5, `${name}: relative error ${err.toExponential(2)}`);
      // Dropout must really act, or the test above would pass vacuously.
      assert.ok(relErr(expected.get(name)!, without.get(name)!) > 1e-2, `${name}: dropout changed nothing`);
    }
    got.forEach((t) => t.dispose());
    g.dispose();
    adapter.dispose();
    task.dispose();
  });

  it('should stay exact when G is tiny next to g(X), as after a mean over thousands of tokens', () => {
    // The literal ½‖y − stopgrad(y − G)‖² loses the low bits of G when |G| ≪ |y|: measured 5e-3
    // relative error at |G| ~ 1e-5 here. The residual rewrite keeps G exact (see glSurrogateLoss).
    const adapter = createAdapter({ type: 'lowrank', rank: 8 }, D_IN, D_OUT, { seed: 6 });
    randomize(adapter, 14);
    const x = tf.tensor2d(randn(N * D_IN, 41, 3), [N, D_IN]);
    const g = tf.tensor2d(randn(N * D_OUT, 42, 1e-5), [N, D_OUT]);
    // J^T G by definition: the gradient of the linear functional Σ g(X) ⊙ G.
    const { value, grads } = tf.variableGrads(() => tf.sum<tf.Scalar>(tf.mul(adapter.forward(x), g)), [...adapter.params.values()]);
    const got = glGradients(adapter, { kind: 'raw', x, g });
    for (const [name, v] of adapter.params) {
      const err = relErr(got.get(name)!.dataSync() as Float32Array, grads[v.name]!.dataSync() as Float32Array);
      assert.ok(err <= 1e-6, `${name}: relative error ${err.toExponential(2)}`);
    }
    tf.dispose([value, ...Object.values(grads), ...got.values(), x, g]);
    adapter.dispose();
  });

  it('should detect a 0.1% error in G, so the 1e-5 bound above has teeth', () => {
    const task = makeTask(9);
    const adapter = createAdapter({ type: 'mlp', hidden: [8] }, D_IN, D_OUT, { seed: 3 });
    randomize(adapter, 15);
    const expected = backpropGrads(adapter, task);
    const g = hiddenGradient(adapter, task);
    const off = tf.mul<tf.Tensor2D>(g, 1.001);
    const got = glGradients(adapter, { kind: 'raw', x: task.x, g: off });
    for (const [name, grad] of got) assert.ok(relErr(grad.dataSync() as Float32Array, expected.get(name)!) > 1e-4, name);
    tf.dispose([g, off, ...got.values()]);
    adapter.dispose();
    task.dispose();
  });

  it('should reject data whose widths do not match the adapter', () => {
    const adapter = createAdapter({ type: 'linear' }, D_IN, D_OUT, { seed: 1 });
    const x = tf.zeros([N, D_IN + 1]) as tf.Tensor2D;
    const g = tf.zeros([N, D_OUT]) as tf.Tensor2D;
    assert.throws(() => glGradients(adapter, { kind: 'raw', x, g }), /\[17 → 8\] layer but the adapter is \[16 → 8\]/);
    const g2 = tf.zeros([N - 1, D_OUT]) as tf.Tensor2D;
    assert.throws(() => glGradients(adapter, { kind: 'raw', x, g: g2 }), /same N/);
    [x, g, g2].forEach((t) => t.dispose());
    adapter.dispose();
  });
});

describe('when fitting from gram data', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  const GRAM_CASES: [string, AuxConfigInput][] = [
    ['linear with bias', { type: 'linear', bias: true }],
    ['linear without bias', { type: 'linear' }],
    ['lowrank', { type: 'lowrank', rank: 4, scale: 2 }],
  ];
  for (const [label, config] of GRAM_CASES) {
    it(`should give the same gradients as raw data for ${label}`, () => {
      const adapter = createAdapter(config, D_IN, D_OUT, { seed: 5 });
      randomize(adapter, 13);
      const x = tf.tensor2d(randn(N * D_IN, 21), [N, D_IN]);
      const g = tf.tensor2d(randn(N * D_OUT, 22, 1 / N), [N, D_OUT]);
      const raw = glGradients(adapter, { kind: 'raw', x, g });
      const gram = gramOf(x, g);
      const fromGram = glGradients(adapter, gram);
      assert.deepEqual([...fromGram.keys()], [...raw.keys()]);
      for (const [name, t] of fromGram) {
        const err = relErr(t.dataSync() as Float32Array, raw.get(name)!.dataSync() as Float32Array);
        assert.ok(err <= 1e-5, `${label} ${name}: relative error ${err.toExponential(2)}`);
      }
      [...raw.values(), ...fromGram.values(), x, g, gram.xtg, gram.colsumG].forEach((t) => t.dispose());
      adapter.dispose();
    });
  }

  it('should refuse an mlp aux and a lowrank aux with dropout, saying to send raw data', () => {
    const x = tf.tensor2d(randn(N * D_IN, 31), [N, D_IN]);
    const g = tf.tensor2d(randn(N * D_OUT, 32), [N, D_OUT]);
    const gram = gramOf(x, g);
    const before = tf.memory().numTensors;
    const mlp = createAdapter({ type: 'mlp', hidden: [8] }, D_IN, D_OUT, { seed: 1 });
    const dropped = createAdapter({ type: 'lowrank', dropout: 0.1 }, D_IN, D_OUT, { seed: 1 });
    assert.throws(() => glGradients(mlp, gram), /mlp aux cannot be fitted from gram data.*send raw/);
    assert.throws(() => glGradients(dropped, gram), /lowrank aux with dropout cannot be fitted from gram data.*send raw/);
    mlp.dispose();
    dropped.dispose();
    assert.equal(tf.memory().numTensors, before, 'a refused gram fit must not leak tensors');
    [x, g, gram.xtg, gram.colsumG].forEach((t) => t.dispose());
  });
});
