/**
 * Deterministic initial values computed in plain JS, independent of the tfjs backend: the same
 * seed gives bit-identical weights on wasm, cpu or a native backend, which the ColA == LoRA test
 * and reproducible tenant jobs both rely on.
 */
import { fmix32, mulberry32 } from '@cola/data';

/**
 * Derives one parameter's seed from the adapter seed and the parameter name (FNV-1a, then a
 * murmur3 finaliser), so `A` and `W0` of the same adapter do not draw the same numbers.
 */
export function deriveSeed(seed: number, salt: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < salt.length; i++) {
    h ^= salt.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** `count` values drawn uniformly from [-bound, bound). */
export function uniformValues(count: number, bound: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (2 * next() - 1) * bound;
  return out;
}

/**
 * The bound of torch's `kaiming_uniform_(w, a=sqrt(5))`, the default init of `nn.Linear` and of
 * LoRA's A: gain = sqrt(2 / (1 + a^2)) = sqrt(1/3), bound = gain * sqrt(3 / fanIn) = 1/sqrt(fanIn).
 * torch's nn.Linear draws its bias from the same range, so we use it for hidden biases too.
 */
export function kaimingUniformBound(fanIn: number): number {
  return Math.sqrt(6 / ((1 + 5) * fanIn));
}

/** A fresh random seed for callers that did not ask for reproducibility. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296) >>> 0;
}
