import type { AdaptationBatch } from './gen/cola/v1/adaptation';
import { DType, type Tensor } from './gen/cola/v1/tensor';
import { TransferMode } from './gen/cola/v1/transfer';
import { describeDtype } from './names';
import { validateTensor } from './tensor-codec';
import { WireFormatError } from './wire-format-error';

/** Floating-point dtypes a transfer may use (int32 never carries activations or gradients). */
const TRANSFER_DTYPES: ReadonlySet<DType> = new Set([DType.DTYPE_FP32, DType.DTYPE_FP16, DType.DTYPE_BF16]);

/** Payload case each transfer mode requires. */
const CASE_OF_MODE: ReadonlyMap<TransferMode, 'activations' | 'gram'> = new Map([
  [TransferMode.TRANSFER_MODE_ACTIVATIONS, 'activations'],
  [TransferMode.TRANSFER_MODE_GRAM, 'gram'],
]);

/**
 * Checks everything a fit step relies on before it touches the tensors: ids, interval, transfer
 * options, unique taps, a payload per layer that matches the transfer mode, and every tensor's
 * dtype, rank and byte length (so a truncated tensor is caught here, not as NaNs in the weights).
 * Collects all problems and throws one WireFormatError listing them; returns the batch otherwise.
 */
export function validateAdaptationBatch(batch: AdaptationBatch): AdaptationBatch {
  const problems: string[] = [];
  if (batch.jobId === '') problems.push('job_id is empty');
  if (batch.numBatches < 1) problems.push(`num_batches is ${batch.numBatches}: a fit task covers at least one host batch`);

  const transfer = batch.transfer;
  const expectedCase = transfer === undefined ? undefined : CASE_OF_MODE.get(transfer.mode);
  const dtype = transfer !== undefined && TRANSFER_DTYPES.has(transfer.dtype) ? transfer.dtype : undefined;
  if (transfer === undefined) problems.push('transfer is missing: set its mode and dtype');
  else {
    if (expectedCase === undefined)
      problems.push(
        `transfer.mode is ${TransferMode[transfer.mode] ?? transfer.mode}: use TRANSFER_MODE_ACTIVATIONS or TRANSFER_MODE_GRAM`,
      );
    if (dtype === undefined) problems.push(`transfer.dtype is ${describeDtype(transfer.dtype)}: use DTYPE_FP32, DTYPE_FP16 or DTYPE_BF16`);
  }

  if (batch.layers.length === 0) problems.push('layers is empty: a fit task carries one entry per adapted layer');
  const seen = new Set<string>();
  for (const [i, layer] of batch.layers.entries()) {
    const at = `layers[${i}]${layer.tap === '' ? '' : ` ("${layer.tap}")`}`;
    if (layer.tap === '') problems.push(`${at}.tap is empty`);
    else if (seen.has(layer.tap)) problems.push(`${at} repeats tap "${layer.tap}"`);
    seen.add(layer.tap);

    const payload = layer.payload;
    if (payload === undefined) {
      problems.push(`${at} has no payload: set activations or gram`);
      continue;
    }
    if (expectedCase !== undefined && payload.$case !== expectedCase) {
      problems.push(`${at} carries ${payload.$case} but transfer.mode is ${TransferMode[transfer!.mode]}`);
    }
    const tensor = (t: Tensor | undefined, name: string, rank: number): Tensor | undefined =>
      checkTensor(problems, t, `${at}.${payload.$case}.${name}`, rank, dtype);
    if (payload.$case === 'activations') {
      const x = tensor(payload.value.x, 'x', 2);
      const g = tensor(payload.value.g, 'g', 2);
      if (x !== undefined && g !== undefined && x.shape[0] !== g.shape[0]) {
        problems.push(`${at}.activations has ${x.shape[0]} rows in x but ${g.shape[0]} in g: both are [N, d]`);
      }
    } else {
      const xtg = tensor(payload.value.xtg, 'xtg', 2);
      const colsum = tensor(payload.value.colsumG, 'colsum_g', 1);
      if (xtg !== undefined && colsum !== undefined && xtg.shape[1] !== colsum.shape[0]) {
        problems.push(`${at}.gram has xtg [${xtg.shape.join(', ')}] but colsum_g [${colsum.shape.join(', ')}]: colsum_g is [d_out]`);
      }
    }
  }

  if (problems.length > 0) {
    throw new WireFormatError(`invalid AdaptationBatch (job "${batch.jobId}", seq ${batch.seq}): ${problems.join('; ')}`);
  }
  return batch;
}

/** Validates one tensor, pushes what is wrong with it and returns it only if it is usable. */
function checkTensor(problems: string[], t: Tensor | undefined, what: string, rank: number, dtype: DType | undefined): Tensor | undefined {
  try {
    validateTensor(t, what);
  } catch (e) {
    problems.push((e as Error).message);
    return undefined;
  }
  const ok = t!;
  if (ok.shape.length !== rank) {
    problems.push(`${what} has rank ${ok.shape.length} ([${ok.shape.join(', ')}]) but must have rank ${rank}`);
    return undefined;
  }
  if (dtype !== undefined && ok.dtype !== dtype) {
    problems.push(`${what} is ${describeDtype(ok.dtype)} but transfer.dtype is ${describeDtype(dtype)}`);
  }
  return ok;
}
