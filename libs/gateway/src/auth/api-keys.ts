import { createHash, timingSafeEqual } from 'node:crypto';
import { randomBase62 } from '../common/ids';

/** Prefix of every tenant API key, so leaked keys are easy to spot (secret scanners, logs). */
export const API_KEY_PREFIX = 'sk-cola-';

/** A fresh API key: the prefix and 40 random base62 characters (~238 bits). Shown once, never stored. */
export function mintApiKey(): string {
  return `${API_KEY_PREFIX}${randomBase62(40)}`;
}

/** Lowercase hex SHA-256 of a key: the only form in which keys are stored (`keys.apiKey`). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Compares two secrets in constant time (by their digests, so lengths do not leak either). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** The last characters of a key, for listings (`sk-cola-…abcd`). */
export function redactKey(key: string): string {
  return `${API_KEY_PREFIX}…${key.slice(-4)}`;
}
