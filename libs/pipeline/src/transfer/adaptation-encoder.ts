import { encodeFloats, gramOf, tf, type AdaptationData, type WireDtype } from '@cola/gl';
import { bytesToTensor, dtypeFromName, encodeAdaptationBatch, transferModeFromName, type LayerAdaptation, type Tensor } from '@cola/proto';
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

function wire(t: tf.Tensor, dtype: WireDtype): Tensor {
  return bytesToTensor(dtypeFromName(dtype), t.shape, encodeFloats(t.dataSync() as Float32Array, dtype));
}

/**
 * Encodes a fit task's data for the wire. Raw data are shipped as (X, G) in `activations` mode,
 * or reduced to (X^T G, colsum G) on the host in `gram` mode; gram data stay gram (an interval
 * buffer may already have summed them). The tensors are read, not disposed.
 */
export function encodeAdaptation(
  header: AdaptationHeader,
  layers: ReadonlyMap<string, AdaptationData>,
  transfer: TransferSpec,
): Uint8Array {
  const out: LayerAdaptation[] = [];
  for (const [tap, data] of layers) {
    if (transfer.mode === 'activations') {
      if (data.kind !== 'raw') throw new Error(`layer ${tap}: activations transfer needs raw (X, G), got gram data`);
      out.push({ tap, payload: { $case: 'activations', value: { x: wire(data.x, transfer.dtype), g: wire(data.g, transfer.dtype) } } });
      continue;
    }
    const gram = data.kind === 'gram' ? data : gramOf(data.x, data.g);
    try {
      const rows = data.kind === 'raw' ? data.x.shape[0] : 0;
      out.push({
        tap,
        payload: { $case: 'gram', value: { xtg: wire(gram.xtg, transfer.dtype), colsumG: wire(gram.colsumG, transfer.dtype), rows } },
      });
    } finally {
      if (gram !== data) tf.dispose([gram.xtg, gram.colsumG]);
    }
  }
  return encodeAdaptationBatch({
    ...header,
    transfer: { mode: transferModeFromName(transfer.mode), dtype: dtypeFromName(transfer.dtype) },
    layers: out,
    createdAtMs: Date.now(),
  });
}
