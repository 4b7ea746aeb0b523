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
  tf.tidy(() => matMul(a, b).dataSync());
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    tf.tidy(() => matMul(a, b).dataSync());
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
