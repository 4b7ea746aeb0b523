import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAdapter,
  createOptimizer,
  decodeAuxState,
  encodeAuxState,
  exportAuxState,
  glFitStep,
  importAuxState,
  initBackend,
  tf,
  type AuxAdapter,
  type AuxConfigInput,
  type AuxStateSnapshot,
  type Optimizer,
  type OptimizerConfigInput,
  type PlainTensor,
} from '../index';
import { mulberry32 } from '@cola/data';
import { encodeSafetensors } from '../io/safetensors';

const N = 8;
const D_IN = 12;
const D_OUT = 10;

function uniform(count: number, seed: number, scale = 1): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: count }, () => scale * (2 * next() - 1));
}

/** Bit-level view, so -0 vs 0 or a rounding difference cannot hide behind a tolerance. */
function bits(p: PlainTensor): Uint32Array {
  return new Uint32Array(p.values.buffer, p.values.byteOffset, p.values.length);
}

function assertBitEqual(a: Record<string, PlainTensor>, b: Record<string, PlainTensor>, what: string): void {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${what}: names differ`);
  for (const name of Object.keys(a)) {
    assert.deepEqual(a[name]!.shape, b[name]!.shape, `${what} ${name}: shape`);
    assert.deepEqual(bits(a[name]!), bits(b[name]!), `${what} ${name}: values differ`);
  }
}

function assertSnapshotsEqual(a: AuxStateSnapshot, b: AuxStateSnapshot): void {
  assert.deepEqual(a.config, b.config);
  assert.deepEqual(a.optimizer.config, b.optimizer.config);
  assert.equal(a.dIn, b.dIn);
  assert.equal(a.dOut, b.dOut);
  assert.equal(a.step, b.step);
  assert.equal(a.optimizer.stepCount, b.optimizer.stepCount);
  assertBitEqual(a.params, b.params, 'params');
  assertBitEqual(a.optimizer.slots, b.optimizer.slots, 'slots');
}

function fit(adapter: AuxAdapter, optimizer: Optimizer, seed: number): void {
  const x = tf.tensor2d(uniform(N * D_IN, seed), [N, D_IN]);
  const g = tf.tensor2d(uniform(N * D_OUT, seed + 1, 0.1), [N, D_OUT]);
  glFitStep(adapter, optimizer, { kind: 'raw', x, g }, { lr: 1e-2 });
  tf.dispose([x, g]);
}

const CASES: [string, AuxConfigInput, OptimizerConfigInput][] = [
  ['lowrank with AdamW', { type: 'lowrank', rank: 3, scale: 0.7 }, { type: 'adamw', weightDecay: 0.01 }],
  ['linear with bias and nesterov SGD', { type: 'linear', bias: true }, { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 1e-3 }],
  ['mlp with AdamW', { type: 'mlp', hidden: [6, 5], activation: 'gelu' }, { type: 'adamw' }],
];

describe('when aux state is exported, encoded, decoded and imported', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  for (const [label, auxConfig, optConfig] of CASES) {
    it(`should round-trip bit-exactly and keep training identically (${label})`, () => {
      const start = tf.memory().numTensors;
      const adapter = createAdapter(auxConfig, D_IN, D_OUT, { seed: 5 });
      const optimizer = createOptimizer(optConfig);
      fit(adapter, optimizer, 1);
      fit(adapter, optimizer, 3);
      const snap = exportAuxState(adapter, optimizer);
      assert.equal(snap.step, 2);
      assert.ok(Object.keys(snap.optimizer.slots).length > 0, 'the optimizer should have slots after two steps');

      const bytes = encodeAuxState(snap);
      const decoded = decodeAuxState(bytes);
      assertSnapshotsEqual(decoded, snap);
      assert.deepEqual(encodeAuxState(decoded), bytes, 'encoding is deterministic');

      const restored = importAuxState(decoded);
      assertSnapshotsEqual(exportAuxState(restored.adapter, restored.optimizer), snap);

      // The restored pair must continue exactly like the original: same bits after one more step.
      fit(adapter, optimizer, 5);
      fit(restored.adapter, restored.optimizer, 5);
      assertSnapshotsEqual(exportAuxState(restored.adapter, restored.optimizer), exportAuxState(adapter, optimizer));

      [adapter, optimizer, restored.adapter, restored.optimizer].forEach((o) => o.dispose());
      assert.equal(tf.memory().numTensors, start, 'state round trip leaked tensors');
    });
  }

  it('should round-trip a fresh SGD without slots and keep an explicit step (version)', () => {
    const adapter = createAdapter({ type: 'linear' }, D_IN, D_OUT, { seed: 1 });
    const optimizer = createOptimizer({ type: 'sgd' });
    const snap = exportAuxState(adapter, optimizer, 17);
    const decoded = decodeAuxState(encodeAuxState(snap));
    assertSnapshotsEqual(decoded, snap);
    assert.equal(decoded.step, 17);
    assert.deepEqual(decoded.optimizer.slots, {});
    [adapter, optimizer].forEach((o) => o.dispose());
  });

  it('should refuse a blob that is not aux state, or whose config is invalid', () => {
    const other = encodeSafetensors({}, { format: 'something-else' });
    assert.throws(() => decodeAuxState(other), /format "something-else", expected "cola\.aux-state\/1"/);
    const adapter = createAdapter({ type: 'lowrank', rank: 2 }, D_IN, D_OUT, { seed: 1 });
    const optimizer = createOptimizer({ type: 'adamw' });
    const snap = exportAuxState(adapter, optimizer);
    const tampered = { ...snap, config: { type: 'lowrank', rank: 0, scale: 1, dropout: 0 } } as AuxStateSnapshot;
    assert.throws(() => decodeAuxState(encodeAuxState(tampered)), /lowrank\.rank must be an integer >= 1/);
    const wrongShape = { ...snap, dIn: D_IN + 1 };
    const before = tf.memory().numTensors;
    assert.throws(() => importAuxState(wrongShape), /"A" has shape \[12, 2\], expected \[13, 2\]/);
    assert.equal(tf.memory().numTensors, before, 'a failed import leaked tensors');
    [adapter, optimizer].forEach((o) => o.dispose());
  });
});
