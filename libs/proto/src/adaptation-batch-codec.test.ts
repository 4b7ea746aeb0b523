import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AdaptationBatch,
  DType,
  TransferMode,
  WireFormatError,
  decodeAdaptationBatch,
  encodeAdaptationBatch,
  float32ToTensor,
  tensorRefFor,
  validateAdaptationBatch,
  type AdaptationTask,
  type Tensor,
} from './index';
import { sampleBatch, seededFloats } from './test-fixtures';

const ACT = TransferMode.TRANSFER_MODE_ACTIVATIONS;
const GRAM = TransferMode.TRANSFER_MODE_GRAM;

function taskFor(blob: Uint8Array, batch: AdaptationBatch): AdaptationTask {
  return {
    jobId: batch.jobId,
    tenantId: batch.tenantId,
    seq: batch.seq,
    auxVersion: batch.auxVersion,
    payload: tensorRefFor(`cola:adapt:${batch.jobId}:${batch.seq}`, blob),
  };
}

function isWireError(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof WireFormatError, `expected a WireFormatError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  };
}

describe('when an adaptation batch goes through its claim-check blob', () => {
  it('should decode to the batch that was encoded, in both transfer modes', () => {
    for (const mode of [ACT, GRAM]) {
      const batch = sampleBatch(mode);
      const blob = encodeAdaptationBatch(batch);
      assert.deepStrictEqual(decodeAdaptationBatch(blob, taskFor(blob, batch)), batch);
      assert.deepStrictEqual(decodeAdaptationBatch(blob), batch, 'a blob without a reference decodes too');
    }
  });
});

describe('when the blob is truncated', () => {
  const batch = sampleBatch(ACT);
  const blob = encodeAdaptationBatch(batch);
  const task = taskFor(blob, batch);

  it('should fail at every cut length with a readable "truncated" reason when the task reference is given', () => {
    for (let cut = 0; cut < blob.byteLength; cut++) {
      assert.throws(
        () => decodeAdaptationBatch(blob.subarray(0, cut), task),
        isWireError(new RegExp(`is ${cut} bytes but its reference says ${blob.byteLength}: the payload is truncated`)),
      );
    }
  });

  it('should fail to decode without a reference whenever the cut falls inside a tensor', () => {
    const last = batch.layers.at(-1)!.payload!;
    assert.equal(last.$case, 'activations');
    const g = (last.value as { g: Tensor }).g.data;
    const start = blob.indexOf(g);
    assert.ok(start > 0, 'the last tensor bytes are found in the blob');
    for (let cut = start; cut < start + g.byteLength; cut++) {
      assert.throws(
        () => decodeAdaptationBatch(blob.subarray(0, cut)),
        isWireError(/^cannot decode cola\.v1\.AdaptationBatch from \d+ bytes \(premature EOF\): the payload is truncated or corrupt$/),
      );
    }
  });

  it('should decode without a reference only when the cut lands exactly on a field boundary', () => {
    // Protobuf has no framing: a prefix that ends between fields is itself a valid message. That is
    // why TensorRef carries byte_size and sha256. Every cut that slips through is such a prefix.
    let slipped = 0;
    for (let cut = 0; cut < blob.byteLength; cut++) {
      const prefix = blob.subarray(0, cut);
      let decoded: AdaptationBatch;
      try {
        decoded = decodeAdaptationBatch(prefix);
      } catch (e) {
        assert.ok(e instanceof WireFormatError, `cut ${cut}: ${String(e)}`);
        continue;
      }
      slipped++;
      assert.deepStrictEqual(Buffer.from(AdaptationBatch.encode(decoded).finish()), Buffer.from(prefix), `cut ${cut} is a field boundary`);
      assert.ok(decoded.layers.length < batch.layers.length || decoded.createdAtMs !== batch.createdAtMs);
    }
    // After the first complete layer, and before created_at_ms: both are valid, shorter batches.
    assert.equal(slipped, 2);
  });
});

describe('when the blob is corrupt, missing or someone else’s', () => {
  const batch = sampleBatch(GRAM);
  const blob = encodeAdaptationBatch(batch);
  const task = taskFor(blob, batch);

  it('should say so instead of decoding garbage', () => {
    const flipped = Buffer.from(blob);
    flipped[flipped.byteLength >> 1]! ^= 0x40;
    assert.throws(() => decodeAdaptationBatch(flipped, task), isWireError(/is corrupt: sha256 [0-9a-f]{64} does not match its reference/));
    assert.throws(() => decodeAdaptationBatch(null, task), isWireError(/is missing: its TTL expired or it was never written/));
    assert.throws(() => decodeAdaptationBatch(Buffer.concat([blob, Buffer.from([0])]), task), isWireError(/longer than written/));
    assert.throws(
      () => decodeAdaptationBatch(blob, { ...task, payload: { ...task.payload!, sha256: 'abc' } }),
      isWireError(/invalid sha256 "abc"/),
    );
    assert.throws(() => decodeAdaptationBatch(Buffer.alloc(64, 0xff)), WireFormatError);
  });

  it('should refuse a valid blob that is not the batch its task announces', () => {
    assert.throws(
      () => decodeAdaptationBatch(blob, { ...task, seq: 8 }),
      isWireError(
        /holds job "ftjob-1" tenant "tenant-a" seq 7 aux_version 6 but its task announces job "ftjob-1" tenant "tenant-a" seq 8 aux_version 6/,
      ),
    );
  });
});

describe('when a well-formed protobuf carries inconsistent adaptation data', () => {
  it('should refuse a tensor whose bytes do not match its shape, on both sides of the wire', () => {
    const batch = sampleBatch(ACT);
    const layer = batch.layers[1]!;
    assert.equal(layer.payload?.$case, 'activations');
    const act = layer.payload.value as { x: Tensor; g: Tensor };
    act.g = { ...act.g, data: act.g.data.subarray(0, act.g.data.byteLength - 4) };
    const message = /layers\[1\] \("h\.0\.attn\.v"\)\.activations\.g holds 44 bytes but shape \[4, 3\] of DTYPE_FP32 needs 48 .*truncated/;
    assert.throws(() => encodeAdaptationBatch(batch), isWireError(message));
    const raw = AdaptationBatch.encode(batch).finish();
    assert.throws(() => decodeAdaptationBatch(raw), isWireError(message));
  });

  it('should list every problem at once, with a path to each', () => {
    const batch = sampleBatch(GRAM, { taps: ['h.0.attn.q', 'h.0.attn.q', 'head'] });
    batch.numBatches = 0;
    batch.transfer = { mode: GRAM, dtype: DType.DTYPE_FP16 };
    batch.layers[2]!.payload = {
      $case: 'activations',
      value: { x: float32ToTensor([4, 5], seededFloats(20, 1)), g: float32ToTensor([3, 2], seededFloats(6, 2)) },
    };
    assert.throws(
      () => validateAdaptationBatch(batch),
      isWireError(
        new RegExp(
          [
            '^invalid AdaptationBatch \\(job "ftjob-1", seq 7\\): num_batches is 0: a fit task covers at least one host batch',
            'layers\\[0\\] \\("h\\.0\\.attn\\.q"\\)\\.gram\\.xtg is DTYPE_FP32 but transfer\\.dtype is DTYPE_FP16',
            'layers\\[1\\] \\("h\\.0\\.attn\\.q"\\) repeats tap "h\\.0\\.attn\\.q"',
            'layers\\[2\\] \\("head"\\) carries activations but transfer\\.mode is TRANSFER_MODE_GRAM',
            'layers\\[2\\] \\("head"\\)\\.activations has 4 rows in x but 3 in g',
          ].join('; .*'),
        ),
      ),
    );
  });

  it('should refuse missing transfer options, an empty layer list and gram shapes that disagree', () => {
    const empty = { ...sampleBatch(ACT), transfer: undefined, layers: [] };
    assert.throws(() => validateAdaptationBatch(empty), isWireError(/transfer is missing: set its mode and dtype; layers is empty/));
    const gram = sampleBatch(GRAM, { taps: ['head'] });
    gram.layers[0]!.payload = {
      $case: 'gram',
      value: { xtg: float32ToTensor([5, 3], seededFloats(15, 1)), colsumG: float32ToTensor([4], seededFloats(4, 2)), rows: 4 },
    };
    assert.throws(() => validateAdaptationBatch(gram), isWireError(/gram has xtg \[5, 3\] but colsum_g \[4\]: colsum_g is \[d_out\]/));
  });
});
