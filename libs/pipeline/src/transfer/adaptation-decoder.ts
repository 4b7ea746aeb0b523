import { decodeFloats, tf, WIRE_ITEM_SIZE, type AdaptationData, type WireDtype } from '@cola/gl';
import { decodeAdaptationBatch, dtypeToName, WireFormatError, type AdaptationBatch, type AdaptationTask, type Tensor } from '@cola/proto';

/** A decoded fit task: its header and one AdaptationData per layer (tensors owned by the caller). */
export interface DecodedAdaptation {
  batch: Omit<AdaptationBatch, 'layers'>;
  layers: Map<string, AdaptationData>;
}

/**
 * One reusable float buffer for tensors that cannot be viewed in place (fp16/bf16, or fp32 at an
 * unaligned offset). Only on backends that copy a tensor's values at creation (wasm): the cpu
 * backend keeps a reference to them, so there every tensor gets its own array.
 */
let scratch = new Float32Array(0);

function scratchFor(n: number): Float32Array | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  if (scratch.length < n) scratch = new Float32Array(Math.max(n, Math.ceil(scratch.length * 1.5)));
  return scratch;
}

function floats(t: Tensor | undefined, what: string): { shape: number[]; values: Float32Array } {
  if (!t) throw new WireFormatError(`${what} is missing`);
  const name = dtypeToName(t.dtype);
  if (name === 'int32') throw new WireFormatError(`${what} is int32; adaptation tensors are fp32, fp16 or bf16`);
  const n = t.data.byteLength / WIRE_ITEM_SIZE[name as WireDtype];
  return { shape: t.shape, values: decodeFloats(t.data, name as WireDtype, scratchFor(n)) };
}

function matrix(t: Tensor | undefined, what: string): tf.Tensor2D {
  const f = floats(t, what);
  if (f.shape.length !== 2) throw new WireFormatError(`${what} must be 2-D, has shape [${f.shape.join(', ')}]`);
  return tf.tensor2d(f.values, f.shape as [number, number]);
}

/**
 * Decodes and validates a fit task's payload (size and sha256 against the task's reference, then
 * the protobuf, then every tensor's shape and byte length) and turns it into fp32 tensors.
 * Anything malformed or truncated throws a WireFormatError that says what is wrong.
 *
 * No copy of the tensor bytes before the backend: the protobuf decode views the payload, fp32 is
 * viewed in place (or copied once when unaligned) and the backend copies it into its memory.
 * @param verifiedSha256 the SHA-256 the tensor store verified while reading `bytes`
 *   (`TensorStore.read`): the reference is checked against it instead of hashing the payload again.
 */
export function decodeAdaptation(bytes: Uint8Array | null | undefined, task?: AdaptationTask, verifiedSha256?: string): DecodedAdaptation {
  const { layers, ...batch } = decodeAdaptationBatch(bytes, task, verifiedSha256);
  const out = new Map<string, AdaptationData>();
  try {
    for (const l of layers) {
      const p = l.payload;
      if (!p) throw new WireFormatError(`layer ${l.tap} has no payload`);
      if (p.$case === 'activations') {
        out.set(l.tap, { kind: 'raw', x: matrix(p.value.x, `layer ${l.tap} X`), g: matrix(p.value.g, `layer ${l.tap} G`) });
      } else {
        // Each tensor is made before the next decode: both may share the one scratch buffer.
        const colsumG = tf.tensor1d(floats(p.value.colsumG, `layer ${l.tap} colsum G`).values);
        let xtg: tf.Tensor2D;
        try {
          xtg = matrix(p.value.xtg, `layer ${l.tap} X^T G`);
        } catch (e) {
          colsumG.dispose();
          throw e;
        }
        out.set(l.tap, { kind: 'gram', xtg, colsumG });
      }
    }
  } catch (e) {
    for (const d of out.values()) tf.dispose(d.kind === 'raw' ? [d.x, d.g] : [d.xtg, d.colsumG]);
    throw e;
  }
  return { batch, layers: out };
}
