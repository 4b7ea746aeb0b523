import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptationBatch, type LayerAdaptation } from './gen/cola/v1/adaptation';
import type { Tensor } from './gen/cola/v1/tensor';
import { TransferMode } from './gen/cola/v1/transfer';
import { decodeAdaptationBatchView, planAdaptationBatch, type LayerSource, type TensorSource } from './adaptation-batch-wire';
import { decodeAdaptationBatch, encodeAdaptationBatch } from './adaptation-batch-codec';
import { tensorRefFor } from './tensor-ref';
import { sampleBatch } from './test-fixtures';
import { WireFormatError } from './wire-format-error';

function source(t: Tensor): TensorSource {
  return { dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength, write: (out, offset) => out.set(t.data, offset) };
}

function sourceOf(l: LayerAdaptation): LayerSource {
  const p = l.payload!;
  return p.$case === 'activations'
    ? { tap: l.tap, payload: { $case: 'activations', x: source(p.value.x!), g: source(p.value.g!) } }
    : { tap: l.tap, payload: { $case: 'gram', xtg: source(p.value.xtg!), colsumG: source(p.value.colsumG!), rows: p.value.rows } };
}

function written(batch: AdaptationBatch, rows = batch.layers.map(sourceOf)): Uint8Array {
  const { layers: _layers, ...header } = batch;
  const plan = planAdaptationBatch(header, rows);
  return plan.write(new Uint8Array(plan.size + 7)); // a larger buffer: only `size` bytes are the batch
}

describe('when an adaptation batch is written by the zero-copy writer', () => {
  for (const mode of [TransferMode.TRANSFER_MODE_ACTIVATIONS, TransferMode.TRANSFER_MODE_GRAM]) {
    it(`should decode with the generated code to the same message (${TransferMode[mode]})`, () => {
      const batch = sampleBatch(mode, { rows: 300 });
      const bytes = written(batch);
      assert.deepEqual(AdaptationBatch.decode(bytes), AdaptationBatch.decode(encodeAdaptationBatch(batch)));
    });
  }

  it('should refuse a tensor whose byte length does not match its shape', () => {
    const batch = sampleBatch(TransferMode.TRANSFER_MODE_ACTIVATIONS);
    const rows = batch.layers.map(sourceOf);
    const p = rows[0]!.payload;
    if (p.$case !== 'activations') throw new Error('expected activations');
    p.x = { ...p.x, byteLength: p.x.byteLength - 4 };
    assert.throws(() => written(batch, rows), /declares \d+ data bytes but needs \d+/);
  });
});

describe('when an adaptation batch is decoded without copies', () => {
  it('should return the same message as the generated decoder, with tensor data viewing the payload', () => {
    const batch = sampleBatch(TransferMode.TRANSFER_MODE_ACTIVATIONS, { rows: 64 });
    const bytes = encodeAdaptationBatch(batch);
    const view = decodeAdaptationBatchView(bytes);
    assert.deepEqual(view, AdaptationBatch.decode(bytes));
    const p = view.layers[1]!.payload!;
    if (p.$case !== 'activations') throw new Error('expected activations');
    assert.equal(p.value.g!.data.buffer, bytes.buffer, 'the tensor data are a view of the payload');
  });

  it('should refuse a truncated, corrupt or wrong-length payload with a clear error, after one checksum', () => {
    const batch = sampleBatch(TransferMode.TRANSFER_MODE_GRAM, { rows: 16 });
    const bytes = encodeAdaptationBatch(batch);
    const task = {
      jobId: batch.jobId,
      tenantId: batch.tenantId,
      seq: batch.seq,
      auxVersion: batch.auxVersion,
      payload: tensorRefFor('k', bytes),
    };
    // Truncated: shorter than the reference says.
    assert.throws(
      () => decodeAdaptationBatch(bytes.subarray(0, bytes.length - 5), task),
      (e: unknown) => e instanceof WireFormatError && /truncated/.test(e.message),
    );
    // Corrupt: same length, a flipped byte; caught by the hash (computed here, or the store's).
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 2]! ^= 0xff;
    assert.throws(() => decodeAdaptationBatch(flipped, task), /corrupt: sha256/);
    assert.throws(() => decodeAdaptationBatch(flipped, task, 'f'.repeat(64)), /corrupt: sha256 f+ does not match/);
    // Wrong length inside: a tensor cut short, re-hashed so only the validator can catch it.
    const short = structuredClone(batch);
    const g = short.layers[0]!.payload!;
    if (g.$case !== 'gram') throw new Error('expected gram');
    g.value.xtg!.data = g.value.xtg!.data.subarray(0, 8);
    const shortBytes = AdaptationBatch.encode(short).finish();
    assert.throws(
      () => decodeAdaptationBatch(shortBytes, { ...task, payload: tensorRefFor('k', shortBytes) }),
      /holds 8 bytes but shape \[5, 3\].*truncated/,
    );
    // Cut at an arbitrary point without a reference: the protobuf itself no longer parses.
    assert.throws(() => decodeAdaptationBatchView(bytes.subarray(0, bytes.length - 30)), WireFormatError);
  });
});
