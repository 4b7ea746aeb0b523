/** A stored payload is absent: its TTL ran out, it was deleted, or it was never written. */
export class PayloadMissingError extends Error {
  override readonly name = 'PayloadMissingError';
  constructor(readonly key: string) {
    super(
      `payload ${key} is missing: it expired (TTL), was deleted, or was never written. ` +
        'Re-publish it from its source; if consumers lag behind, raise the payload TTL (PAYLOAD_TTL_SECONDS).',
    );
  }
}
