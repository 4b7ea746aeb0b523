import { randomBytes } from 'node:crypto';
import { ID_PATTERN } from '@cola/config';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `n` random base62 characters (rejection sampling, so every character is equally likely). */
export function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 248 && out.length < n) out += ALPHABET[b % 62];
    }
  }
  return out;
}

/**
 * Public ids, OpenAI style: a kind prefix and 24 random base62 characters (~143 bits), so ids are
 * unguessable and never collide. They satisfy the Redis key id rules (`ID_PATTERN`).
 */
export const newId = {
  job: (): string => `ftjob-${randomBase62(24)}`,
  file: (): string => `file-${randomBase62(24)}`,
  tenant: (): string => `tenant-${randomBase62(12)}`,
  apiKey: (): string => `key-${randomBase62(16)}`,
  request: (prefix: 'clf' | 'cmpl' | 'chatcmpl'): string => `${prefix}-${randomBase62(24)}`,
};

/** True when `id` can be used in a Redis key; an id that cannot is one that does not exist. */
export function isUsableId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Unix seconds (the API's timestamps) from epoch milliseconds. */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
