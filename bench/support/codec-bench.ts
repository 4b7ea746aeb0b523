/**
 * Payload encode and decode time per MB, the path before zero-copy payloads (legacy-codec.ts)
 * against today's (pooled frame, one checksum, views), side by side on the same payload, both
 * through a real Redis.
 */
import type { Redis } from 'ioredis';
import { tf, type AdaptationData } from '@cola/gl';
import { decodeAdaptation, planAdaptation } from '@cola/pipeline';
import { TensorStore } from '@cola/store';
import { legacyDecodeFrame, legacyEncodeFrame } from './legacy-codec';

/** Milliseconds per MB of payload for each path and stage. */
export interface CodecTimes {
  mb: number;
  legacyEncode: number;
  legacyDecode: number;
  encode: number;
  decode: number;
}

export async function benchCodec(redis: Redis, layers: ReadonlyMap<string, AdaptationData>, iterations: number): Promise<CodecTimes> {
  const store = new TensorStore(redis);
  const header = { jobId: 'bench', tenantId: 'bench', seq: 1, auxVersion: 1, numBatches: 1, tokens: 1, loss: 0 };
  const task = (ref: { key: string; size: number; sha256: string }) => ({
    jobId: 'bench',
    tenantId: 'bench',
    seq: 1,
    auxVersion: 1,
    payload: { key: ref.key, byteSize: ref.size, sha256: ref.sha256 },
  });
  const t = { legacyEncode: 0, legacyDecode: 0, encode: 0, decode: 0 };
  let bytes = 0;
  for (let i = 0; i <= iterations; i++) {
    // Legacy: encode (incl. the frame), write, read back, decode into tensors.
    const a0 = performance.now();
    const old = legacyEncodeFrame(layers);
    const a1 = performance.now();
    await redis.set('bench:codec:legacy', old.frame);
    const a2 = performance.now();
    const frame = await redis.getBuffer('bench:codec:legacy');
    tf.dispose(legacyDecodeFrame(frame!, old.sha256));
    const a3 = performance.now();
    // Today: plan + write into a pooled frame (+ seal, which is the write stage), read + decode.
    const b0 = performance.now();
    const plan = planAdaptation(header, layers, { mode: 'activations', dtype: 'fp32' });
    const lease = store.lease(plan.size);
    plan.write(lease.data);
    plan.dispose();
    const b1 = performance.now();
    const ref = await store.putLeased('bench:codec:new', lease, 60);
    const b2 = performance.now();
    const read = await store.read(ref.key, ref.sha256);
    const decoded = decodeAdaptation(read.data, task(ref), read.sha256);
    const b3 = performance.now();
    for (const d of decoded.layers.values()) tf.dispose(d.kind === 'raw' ? [d.x, d.g] : [d.xtg, d.colsumG]);
    if (i === 0) continue; // warm-up
    bytes += ref.size;
    t.legacyEncode += a1 - a0;
    // The Redis read belongs to decode in both paths (the trainer's decode stage times fetch + decode).
    t.legacyDecode += a3 - a2;
    t.encode += b1 - b0;
    t.decode += b3 - b2;
  }
  const mb = bytes / 1e6;
  await redis.del('bench:codec:legacy', 'bench:codec:new');
  return {
    mb: mb / iterations,
    legacyEncode: t.legacyEncode / mb,
    legacyDecode: t.legacyDecode / mb,
    encode: t.encode / mb,
    decode: t.decode / mb,
  };
}
