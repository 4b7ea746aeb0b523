import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdapterSet, glFitStep, initBackend, tf } from '@cola/gl';
import { decodeJobAuxMeta, decodeJobAuxState, encodeJobAuxState, scheduleOf } from './job-aux-state';

function trainedSet(): AdapterSet {
  const set = AdapterSet.create({
    layers: [
      { tap: 'h.0.attn.c_attn', dIn: 8, dOut: 24, aux: { type: 'lowrank', rank: 2 } },
      { tap: 'h.1.attn.c_attn', dIn: 8, dOut: 24, aux: { type: 'mlp', hidden: [4] } },
      { tap: 'score', dIn: 8, dOut: 2, aux: { type: 'linear', bias: true } },
    ],
    optimizer: { type: 'adamw', lr: 1e-2 },
    seed: 5,
  });
  // One real step so the optimizer slots are non-zero.
  for (const [tap, { adapter, optimizer }] of set.layers) {
    const rows = tap === 'score' ? 3 : 6;
    const x = tf.randomNormal([rows, adapter.dIn], 0, 1, 'float32', 1) as tf.Tensor2D;
    const g = tf.randomNormal([rows, adapter.dOut], 0, 1, 'float32', 2) as tf.Tensor2D;
    glFitStep(adapter, optimizer, { kind: 'raw', x, g }, { lr: 1e-2 });
    tf.dispose([x, g]);
  }
  return set;
}

const meta = { jobId: 'job-1', version: 3, schedule: { peakLr: 1e-2, totalSteps: 10, warmupSteps: 1 }, clipNorm: 1 };

describe('when a job aux state is encoded and decoded', () => {
  before(() => initBackend({ log: null }));

  it('should give back bit-identical weights, optimizer slots, configs and meta', async () => {
    const set = trainedSet();
    const bytes = encodeJobAuxState(set, meta);
    const back = decodeJobAuxState(bytes);
    assert.equal(back.jobId, 'job-1');
    assert.equal(back.version, 3);
    assert.deepEqual(back.schedule, meta.schedule);
    assert.equal(back.clipNorm, 1);
    assert.deepEqual(back.adapters.taps, set.taps);
    assert.deepEqual(await back.adapters.values(), await set.values());
    for (const [tap, layer] of set.layers) {
      const other = back.adapters.layers.get(tap)!;
      assert.deepEqual(other.adapter.config, layer.adapter.config);
      assert.equal(other.optimizer.stepCount, 1);
      assert.deepEqual(other.optimizer.exportSlots(), layer.optimizer.exportSlots());
    }
    assert.equal(scheduleOf(back).lrAt(1), 1e-2);
    // Re-encoding is byte-identical, so checksums of equal states agree.
    assert.deepEqual(encodeJobAuxState(back.adapters, meta), bytes);
    set.dispose();
    back.adapters.dispose();
  });

  it('should load weights without optimizer state for the host (paramsOnly)', async () => {
    const set = trainedSet();
    const bytes = encodeJobAuxState(set, meta);
    const host = decodeJobAuxState(bytes, { paramsOnly: true });
    assert.deepEqual(await host.adapters.values(), await set.values());
    assert.equal(host.adapters.optimizerBytes(), 0, 'the host holds no optimizer slots');
    assert.equal(decodeJobAuxMeta(bytes).version, 3);
    set.dispose();
    host.adapters.dispose();
  });

  it('should reject a truncated blob with a readable error', () => {
    const set = trainedSet();
    const bytes = encodeJobAuxState(set, meta);
    assert.throws(() => decodeJobAuxState(bytes.subarray(0, bytes.length - 7)), /AuxState|truncat|invalid|length|bytes/i);
    set.dispose();
  });
});
