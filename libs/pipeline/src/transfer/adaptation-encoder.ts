import { encodeFloatsInto, gramOf, readFloats, tf, WIRE_ITEM_SIZE, type AdaptationData, type WireDtype } from '@cola/gl';
import {
  dtypeFromName,
  planAdaptationBatch,
  transferModeFromName,
  type AdaptationBatchPlan,
  type LayerSource,
  type TensorSource,
} from '@cola/proto';
import type { TransferSpec } from './transfer-spec';

/** The header of an adaptation batch: who it is for and which aux version produced it. */
export interface AdaptationHeader {
  jobId: string;
  tenantId: string;
  /** Fit-task number within the job, from 0. */
  seq: number;
  /** Aux version the host computed the batch with. */
  auxVersion: number;
  /** Host batches concatenated into this task (the adaptation interval I). */
  numBatches: number;
  /** Real tokens behind it. */
  tokens: number;
  /** Mean host loss of those batches. */
  loss: number;
}

/** A tensor's floats written straight into the payload in the wire dtype (read from the backend once, when written). */
function source(t: tf.Tensor, dtype: WireDtype): TensorSource {
  return {
    dtype: dtypeFromName(dtype),
    shape: t.shape,
    byteLength: t.size * WIRE_ITEM_SIZE[dtype],
    // A view of the backend's buffer, read at once: no fresh copy of the tensor per payload.
    write: (out, offset) => encodeFloatsInto(readFloats(t), dtype, out, offset),
  };
}

/**
 * Plans a fit task's payload: its exact size, and a writer that fills a buffer (a pooled frame on
 * the gpu-host) in one pass. Raw data are shipped as (X, G) in `activations` mode, or reduced to
 * (X^T G, colsum G) in `gram` mode; gram data stay gram (an interval buffer may already have
 * summed them). The tensors are read, not disposed; call `dispose` on the plan after writing (it
 * frees the grams it computed).
 */
export function planAdaptation(
  header: AdaptationHeader,
  layers: ReadonlyMap<string, AdaptationData>,
  transfer: TransferSpec,
): AdaptationBatchPlan & { dispose(): void } {
  const out: LayerSource[] = [];
  const owned: tf.Tensor[] = [];
  try {
    for (const [tap, data] of layers) {
      if (transfer.mode === 'activations') {
        if (data.kind !== 'raw') throw new Error(`layer ${tap}: activations transfer needs raw (X, G), got gram data`);
        out.push({ tap, payload: { $case: 'activations', x: source(data.x, transfer.dtype), g: source(data.g, transfer.dtype) } });
        continue;
      }
      const gram = data.kind === 'gram' ? data : gramOf(data.x, data.g);
      if (gram !== data) owned.push(gram.xtg, gram.colsumG);
      out.push({
        tap,
        payload: {
          $case: 'gram',
          xtg: source(gram.xtg, transfer.dtype),
          colsumG: source(gram.colsumG, transfer.dtype),
          rows: data.kind === 'raw' ? data.x.shape[0] : 0,
        },
      });
    }
    const plan = planAdaptationBatch(
      {
        ...header,
        transfer: { mode: transferModeFromName(transfer.mode), dtype: dtypeFromName(transfer.dtype) },
        createdAtMs: Date.now(),
      },
      out,
    );
    return { size: plan.size, write: (buf) => plan.write(buf), dispose: () => tf.dispose(owned) };
  } catch (e) {
    tf.dispose(owned);
    throw e;
  }
}

/**
 * Encodes a fit task's data for the wire into a fresh buffer (see {@link planAdaptation}; the
 * gpu-host writes into a pooled frame instead). The tensors are read, not disposed.
 */
export function encodeAdaptation(
  header: AdaptationHeader,
  layers: ReadonlyMap<string, AdaptationData>,
  transfer: TransferSpec,
): Uint8Array {
  const plan = planAdaptation(header, layers, transfer);
  try {
    return plan.write(new Uint8Array(plan.size));
  } finally {
    plan.dispose();
  }
}
