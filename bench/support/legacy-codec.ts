/**
 * The payload path as it was before zero-copy payloads, kept ONLY so bench:pipeline can time it
 * side by side with today's path in one run. Never used by the services.
 *
 * Encode: a DataView loop per element into a fresh buffer per tensor, the generated protobuf
 * writer (which grows and shifts its buffer), then a fresh frame with a second copy.
 * Decode: SHA-256 of the frame, SHA-256 again against the task's reference, the generated
 * decoder (a copy of every tensor's bytes), then a per-element DataView loop into a fresh array.
 */
import { createHash } from 'node:crypto';
import { tf, type AdaptationData } from '@cola/gl';
import { AdaptationBatch, DType, TransferMode, type LayerAdaptation, type Tensor } from '@cola/proto';

const FRAME_HEADER = 48;

function oldFloats(values: Float32Array): Buffer {
  const out = Buffer.alloc(values.length * 4);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

function oldTensor(t: tf.Tensor): Tensor {
  return { dtype: DType.DTYPE_FP32, shape: t.shape, data: oldFloats(t.dataSync() as Float32Array) };
}

/** Old encode of fp32 activations into a frame (fresh buffers, several copies). Returns the frame and its hex sha256. */
export function legacyEncodeFrame(layers: ReadonlyMap<string, AdaptationData>): { frame: Buffer; sha256: string } {
  const out: LayerAdaptation[] = [];
  for (const [tap, d] of layers) {
    if (d.kind !== 'raw') throw new Error('legacy bench encode: activations only');
    out.push({ tap, payload: { $case: 'activations', value: { x: oldTensor(d.x), g: oldTensor(d.g) } } });
  }
  const body = AdaptationBatch.encode({
    jobId: 'bench',
    tenantId: 'bench',
    seq: 1,
    auxVersion: 1,
    numBatches: 1,
    tokens: 1,
    loss: 0,
    transfer: { mode: TransferMode.TRANSFER_MODE_ACTIVATIONS, dtype: DType.DTYPE_FP32 },
    layers: out,
    createdAtMs: 0,
  }).finish();
  const digest = createHash('sha256').update(body).digest();
  const header = Buffer.alloc(FRAME_HEADER);
  header.write('COLA', 0, 'ascii');
  header.writeUInt8(1, 4);
  header.writeBigUInt64LE(BigInt(body.byteLength), 8);
  digest.copy(header, 16);
  return { frame: Buffer.concat([header, body]), sha256: digest.toString('hex') };
}

/** Old decode of a frame read from Redis into fp32 tensors (the caller disposes them). */
export function legacyDecodeFrame(frame: Buffer, sha256: string): tf.Tensor[] {
  const data = frame.subarray(FRAME_HEADER);
  if (createHash('sha256').update(data).digest('hex') !== frame.subarray(16, 48).toString('hex')) throw new Error('frame checksum');
  if (createHash('sha256').update(data).digest('hex') !== sha256) throw new Error('reference checksum');
  const batch = AdaptationBatch.decode(data);
  const out: tf.Tensor[] = [];
  for (const l of batch.layers) {
    if (l.payload?.$case !== 'activations') continue;
    for (const t of [l.payload.value.x!, l.payload.value.g!]) {
      const n = t.data.byteLength / 4;
      const values = new Float32Array(n);
      const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      for (let i = 0; i < n; i++) values[i] = view.getFloat32(i * 4, true);
      out.push(tf.tensor2d(values, t.shape as [number, number]));
    }
  }
  return out;
}
