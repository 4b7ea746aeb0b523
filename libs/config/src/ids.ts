/**
 * Identifiers that end up inside Redis keys and BullMQ job ids.
 *
 * Ids are REJECTED (not escaped) when they contain anything outside `[A-Za-z0-9_-]`:
 * - ':' separates key segments, so `job "a:progress"` could alias the progress key of job "a";
 *   BullMQ also refuses ':' in queue names and custom job ids.
 * - '.' separates the parts of our BullMQ job ids (see {@link bullJobId}).
 * - '{' and '}' would form Redis Cluster hash tags and move keys between slots.
 * - whitespace and control characters make keys unreadable in redis-cli and logs.
 * Escaping would keep every string usable but makes keys hard to read and grep; the gateway mints
 * the ids anyway, so a strict alphabet costs nothing.
 */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Maximum length of an id, so that keys stay short. */
export const ID_MAX_LENGTH = 128;

/** Thrown when an id or a numeric key part cannot be used in a key. */
export class InvalidIdError extends Error {
  override readonly name = 'InvalidIdError';
}

/**
 * Returns `value` when it is a usable id, else throws an {@link InvalidIdError} naming the kind
 * of id and the allowed alphabet.
 */
export function assertId(kind: string, value: unknown): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw new InvalidIdError(
      `${kind} ${JSON.stringify(value)} is not a valid id: use 1-${ID_MAX_LENGTH} characters from ` +
        `[A-Za-z0-9_-], starting with a letter or digit (no ':', '.', braces or spaces)`,
    );
  }
  return value;
}

/** Returns `value` when it is a non-negative safe integer (a sequence number or a version). */
export function assertIndex(kind: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidIdError(`${kind} ${String(value)} is not valid: use a non-negative integer`);
  }
  return value;
}

/**
 * A BullMQ custom job id made of an id and a number, e.g. `job-1.42`.
 *
 * Using deterministic job ids makes producers idempotent: BullMQ ignores an `add` whose job id
 * still exists, so a re-published batch or event is not queued twice.
 */
export function bullJobId(id: string, index: number, kind = 'id'): string {
  return `${assertId(kind, id)}.${assertIndex('index', index)}`;
}
