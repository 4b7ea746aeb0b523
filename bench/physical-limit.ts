// The physical limit of the host step on this backend: the 2-D matMul rate it could reach, and
// the FLOPs a host step does, so benches print achieved / peak.
import { tf } from '@cola/gl';
import type { GptConfig } from '@cola/model';

/**
 * The backend's 2-D matMul rate in GFLOP/s (2·M·K·N per product), best of a few timed runs of
 * [m, k] x [k, n] after a warm-up.
 */
export function matMulPeakGflops(matMul: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor, m = 2048, k = 512, n = 512, reps = 5): number {
  const a = tf.randomNormal([m, k], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([k, n], 0, 1, 'float32', 2) as tf.Tensor2D;
  tf.tidy(() => void matMul(a, b).dataSync());
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    tf.tidy(() => void matMul(a, b).dataSync());
    best = Math.min(best, performance.now() - t0);
  }
  tf.dispose([a, b]);
  return (2 * m * k * n) / (best / 1000) / 1e9;
}

/**
 * GFLOP of one host step of `rows` x `T` tokens: the forward, per token 2·L·(12·d² + 2·T·d)
 * (the four linear maps, 12·d² weights, and QKᵀ and PV at full T) plus 2·d·V for the tied LM
 * head, times 2 because the backward to the hidden states (dX only, no weight gradients) costs
 * about one forward again.
 */
export function hostStepGflop(c: GptConfig, rows: number, T: number): number {
  const d = c.nEmbd;
  const perToken = 2 * c.nLayer * (12 * d * d + 2 * T * d) + 2 * d * c.vocabSize;
  return (2 * perToken * rows * T) / 1e9;
}

/** Best wall milliseconds of `f` over `reps` runs after one warm-up (its result read back, then freed). */
function bestMs(f: () => tf.Tensor, reps: number): number {
  tf.tidy(() => void f().dataSync());
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    tf.tidy(() => void f().dataSync());
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** Useful GFLOP/s of attention's two products for B·H heads of T × hd, in two formulations. */
export interface AttentionRates {
  /** Batched (rank-3) matMul, as the forward runs it: scores Q Kᵀ, then P V. */
  batchedScores: number;
  batchedWeighted: number;
  /**
   * Every head's rows in one 2-D matMul, [B·H·T, hd] × [hd, B·H·T]: on the fast 2-D path, but it
   * computes every head against every other head, B·H times the useful FLOPs (and B·H times the
   * score memory); rated here by the useful FLOPs only.
   */
  stacked2dScores: number;
}

/**
 * Attention's products on the current backend against the 2-D matMul peak: each head's
 * Q Kᵀ and P V are 2·T·T·hd FLOPs.
 */
export function attentionGflops(
  matMul: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  heads: number,
  T: number,
  hd: number,
  reps = 3,
): AttentionRates {
  const q = tf.randomNormal([heads, T, hd], 0, 1, 'float32', 3);
  const kt = tf.randomNormal([heads, hd, T], 0, 1, 'float32', 4);
  const p = tf.softmax(tf.randomNormal([heads, T, T], 0, 1, 'float32', 5));
  const q2 = tf.reshape(q, [heads * T, hd]);
  const k2 = tf.randomNormal([hd, heads * T], 0, 1, 'float32', 6);
  const useful = (2 * heads * T * T * hd) / 1e9;
  try {
    return {
      batchedScores: useful / (bestMs(() => matMul(q, kt), reps) / 1000),
      batchedWeighted: useful / (bestMs(() => matMul(p, q), reps) / 1000),
      stacked2dScores: useful / (bestMs(() => matMul(q2, k2), reps) / 1000),
    };
  } finally {
    tf.dispose([q, kt, p, q2, k2]);
  }
}
