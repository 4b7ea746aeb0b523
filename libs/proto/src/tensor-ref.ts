import { createHash } from 'node:crypto';
import type { TensorRef } from './gen/cola/v1/tensor';
import { WireFormatError } from './wire-format-error';

// The claim-check contract (docs/design.md section 2): a queue job carries a TensorRef, the bytes live
// under `key` with a TTL. A protobuf message has no length or checksum of its own, so a blob cut at
// a field boundary still decodes; the size and SHA-256 in the reference are what catch it.

/** SHA-256 of `bytes` as 64 lowercase hex characters, the form TensorRef.sha256 carries. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The reference a producer puts in the queue job after storing `bytes` under `key`. */
export function tensorRefFor(key: string, bytes: Uint8Array): TensorRef {
  if (key === '') throw new RangeError('tensorRefFor: key is empty; pass the storage key the bytes were written to');
  return { key, byteSize: bytes.byteLength, sha256: sha256Hex(bytes) };
}

/**
 * Checks fetched bytes against their reference before anything decodes them. Throws a
 * WireFormatError that says what is wrong: missing (expired TTL or never written), truncated or
 * longer than written, or corrupt (checksum mismatch).
 * @param verifiedSha256 the SHA-256 the reader computed over exactly `bytes` while fetching them
 *   (the tensor store verifies its frame); given, it is compared instead of hashing a second time.
 */
export function verifyTensorRef(ref: TensorRef, bytes: Uint8Array | null | undefined, verifiedSha256?: string): void {
  if (!/^[0-9a-f]{64}$/.test(ref.sha256)) {
    throw new WireFormatError(
      `reference to "${ref.key}" has an invalid sha256 "${ref.sha256}": expected 64 lowercase hex characters (use tensorRefFor)`,
    );
  }
  if (bytes === null || bytes === undefined) {
    throw new WireFormatError(`payload "${ref.key}" is missing: its TTL expired or it was never written`);
  }
  if (bytes.byteLength !== ref.byteSize) {
    throw new WireFormatError(
      `payload "${ref.key}" is ${bytes.byteLength} bytes but its reference says ${ref.byteSize}: ` +
        `the payload is ${bytes.byteLength < ref.byteSize ? 'truncated' : 'longer than written'}`,
    );
  }
  const actual = verifiedSha256?.toLowerCase() ?? sha256Hex(bytes);
  if (actual !== ref.sha256) {
    throw new WireFormatError(`payload "${ref.key}" is corrupt: sha256 ${actual} does not match its reference ${ref.sha256}`);
  }
}
