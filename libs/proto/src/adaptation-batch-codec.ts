import { AdaptationBatch, type AdaptationTask } from './gen/cola/v1/adaptation';
import { validateAdaptationBatch } from './adaptation-batch-validator';
import { decodeAdaptationBatchView } from './adaptation-batch-wire';
import { encodeMessage } from './decode-message';
import { verifyTensorRef } from './tensor-ref';
import { WireFormatError } from './wire-format-error';

/**
 * Validates and encodes an adaptation batch for its claim-check blob. Validating on the producer
 * side turns a host bug into an error at its source instead of a failed fit task later.
 */
export function encodeAdaptationBatch(batch: AdaptationBatch): Buffer {
  return encodeMessage(AdaptationBatch, validateAdaptationBatch(batch));
}

/**
 * The consumer's one call: checks the blob against the task's reference (size and SHA-256: the only
 * way to catch a blob cut at a field boundary), decodes it, checks that it is the batch the task
 * announces, and validates it. Every failure is a WireFormatError with a readable reason.
 *
 * The tensors' data are views of `bytes` (no copy): keep `bytes` unchanged while they are used.
 * @param task the queue job that pointed at `bytes`; omit it only for blobs without a reference.
 * @param verifiedSha256 the SHA-256 the reader already computed over exactly these bytes (the
 *   tensor store's frame check); the reference is compared with it instead of hashing twice.
 */
export function decodeAdaptationBatch(
  bytes: Uint8Array | null | undefined,
  task?: AdaptationTask,
  verifiedSha256?: string,
): AdaptationBatch {
  if (task !== undefined) {
    if (task.payload === undefined)
      throw new WireFormatError(`adaptation task (job "${task.jobId}", seq ${task.seq}) has no payload reference`);
    verifyTensorRef(task.payload, bytes, verifiedSha256);
  }
  if (bytes === null || bytes === undefined) throw new WireFormatError('adaptation batch payload is missing');
  const batch = validateAdaptationBatch(decodeAdaptationBatchView(bytes));
  if (task !== undefined) {
    const want = `job "${task.jobId}" tenant "${task.tenantId}" seq ${task.seq} aux_version ${task.auxVersion}`;
    const got = `job "${batch.jobId}" tenant "${batch.tenantId}" seq ${batch.seq} aux_version ${batch.auxVersion}`;
    if (want !== got) throw new WireFormatError(`payload "${task.payload!.key}" holds ${got} but its task announces ${want}`);
  }
  return batch;
}
