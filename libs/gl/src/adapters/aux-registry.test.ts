import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  auxTypeOf,
  createAdapter,
  createOptimizer,
  decodeAuxState,
  deltaWeights,
  encodeAuxState,
  exportAuxState,
  glFitStep,
  glGradients,
  gramOf,
  importAuxState,
  initBackend,
  isMergeable,
  mergeWeights,
  registerAuxType,
  registeredAuxTypes,
  supportsGram,
  tf,
  validateAuxConfig,
} from '../index';
import { biasAuxType } from './test-bias/bias-aux-type';

const [N, D_IN, D_OUT] = [5, 4, 3];

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

function close(a: readonly number[], b: readonly number[], tol = 1e-6): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
}

describe('when a new aux type is registered (one folder plus one registry line)', () => {
  before(async () => {
    await initBackend({ log: null });
    registerAuxType(biasAuxType);
  });

  it('should be known by name next to the built-ins, and refuse a second registration', () => {
    assert.deepEqual(registeredAuxTypes(), ['lowrank', 'linear', 'mlp', 'bias']);
    assert.equal(auxTypeOf('bias'), biasAuxType);
    assert.throws(() => registerAuxType(biasAuxType), /aux type "bias" is already registered/);
    assert.throws(() => validateAuxConfig({ type: 'nope' }), /"lowrank", "linear", "mlp", "bias"/);
    assert.throws(() => validateAuxConfig({ type: 'bias', rank: 2 }), /rank/);
  });

  it('should create, fit (raw and gram), merge and export it through the generic calls', () => {
    const before = tf.memory().numTensors;
    const config = validateAuxConfig({ type: 'bias' });
    assert.equal(isMergeable(config), true);
    assert.equal(supportsGram(config), true);
    const adapter = createAdapter(config, D_IN, D_OUT, { seed: 1 });
    const optimizer = createOptimizer({ type: 'sgd', lr: 0.5 });
    const x = tf.randomNormal<tf.Rank.R2>([N, D_IN], 0, 1, 'float32', 7);
    const g = tf.randomNormal<tf.Rank.R2>([N, D_OUT], 0, 1, 'float32', 8);
    const colsumG = tf.sum(g, 0);

    // Fit: the GL gradient of g(X) = c is colsum(G) by autodiff on raw data and by the type's
    // closed form on the gram alike.
    const gram = gramOf(x, g);
    const fromRaw = glGradients(adapter, { kind: 'raw', x, g });
    const fromGram = glGradients(adapter, gram);
    close(values(fromRaw.get('c')!), values(colsumG), 1e-5);
    close(values(fromGram.get('c')!), values(colsumG), 1e-5);
    for (const t of [...fromRaw.values(), ...fromGram.values(), gram.xtg, gram.colsumG]) t.dispose();
    glFitStep(adapter, optimizer, { kind: 'raw', x, g }, { lr: 0.5 });
    const c = values(adapter.params.get('c')!);
    close(
      c,
      values(colsumG).map((v) => -0.5 * v),
      1e-5,
    );

    // Merge: X (W + dW) + (b + db) equals X W + b + g(X).
    const w = tf.randomNormal<tf.Rank.R2>([D_IN, D_OUT], 0, 1, 'float32', 9);
    const b = tf.randomNormal<tf.Rank.R1>([D_OUT], 0, 1, 'float32', 10);
    const delta = deltaWeights(adapter);
    const merged = mergeWeights(w, b, delta);
    const served = tf.tidy(() => tf.add(tf.matMul(x, merged.w), merged.b!));
    const unmerged = tf.tidy(() => tf.add(tf.add(tf.matMul(x, w), b), adapter.forward(x)));
    close(values(served), values(unmerged), 1e-5);

    // Export: the snapshot round-trips through bytes to an equal adapter of the same type.
    const bytes = encodeAuxState(exportAuxState(adapter, optimizer));
    const restored = importAuxState(decodeAuxState(bytes));
    assert.deepEqual(restored.adapter.config, { type: 'bias' });
    assert.deepEqual(values(restored.adapter.params.get('c')!), values(adapter.params.get('c')!));
    assert.equal(restored.optimizer.stepCount, 1);

    for (const t of [x, g, colsumG, w, b, delta.dW, delta.db!, merged.w, merged.b!, served, unmerged]) t.dispose();
    restored.adapter.dispose();
    restored.optimizer.dispose();
    adapter.dispose();
    optimizer.dispose();
    assert.equal(tf.memory().numTensors, before, 'nothing leaks');
  });
});
