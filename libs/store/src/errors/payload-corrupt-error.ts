/**
 * A stored payload exists but cannot be trusted: truncated, not one of our frames, checksum
 * mismatch, or not the payload the reference names. Retrying will not help; the producer must
 * publish it again.
 */
export class PayloadCorruptError extends Error {
  override readonly name = 'PayloadCorruptError';
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`payload ${key} is corrupt: ${reason}. Discard it and publish it again from its source.`);
  }
}
