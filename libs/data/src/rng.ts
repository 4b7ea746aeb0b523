/**
 * Seeded pseudo-random numbers for everything that must be reproducible: data splits, epoch
 * shuffles, weight init in tests. Math.random cannot be seeded, and a split that changes between
 * runs silently leaks test rows into training.
 */

/** A generator of uniform floats in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32: a tiny 32-bit generator with a full 2^32 period, good enough for shuffles and
 * sampling (not for cryptography). The same seed always yields the same sequence.
 *
 * @param seed any number; it is truncated to an unsigned 32-bit integer.
 */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Derives an independent seed from a base seed and a stream number (for example the epoch), so
 * that epoch 1 of seed 7 is not epoch 0 of seed 8. Uses the murmur3 finaliser to spread the bits.
 */
export function mixSeed(seed: number, stream: number): number {
  return fmix32((seed >>> 0) ^ Math.imul((stream >>> 0) + 0x9e3779b9, 0x85ebca6b));
}

/** murmur3's 32-bit finaliser: every input bit reaches every output bit, so near seeds draw unrelated streams. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

/** Fisher-Yates shuffle in place; returns the same array for chaining. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

/** A random permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): number[] {
  return shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    rng,
  );
}
