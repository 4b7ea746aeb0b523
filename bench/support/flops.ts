/**
 * The physical limit: the backend's measured 2-D matMul rate, and the FLOPs of a host step.
 *
 * Host step FLOPs (forward + back-propagation to the adapted hidden states, no weight gradients):
 *   forward  F = 2 · (12 · L · d²) · T  +  4 · L · B · S² · d
 *            (the four block projections hold 12·d² weights per layer, 2 FLOPs per weight and
 *             token; attention scores Q·Kᵀ and the weighted sum A·V take 2·B·S²·d each per layer)
 *   backward ≈ F (input gradients only: one matMul per forward matMul)
 *   total    ≈ 2 · F, with T = B · S tokens. Embeddings, LayerNorms, softmax and the head are left out.
 */
import { tf } from '@cola/gl';
import type { GptConfig } from '@cola/model';

/** FLOPs of one host step (see the formula above). */
export function hostStepFlops(config: GptConfig, batch: number, seqLen: number): number {
  const { nLayer: L, nEmbd: d } = config;
  const forward = 2 * 12 * L * d * d * batch * seqLen + 4 * L * batch * seqLen * seqLen * d;
  return 2 * forward;
}

/** GFLOP/s of a 2-D matMul [m, k] × [k, n] on the current backend (median of `reps`). */
export function matMulGflops(m: number, k: number, n: number, reps = 5): number {
  const a = tf.randomNormal([m, k], 0, 1, 'float32', 1);
  const b = tf.randomNormal([k, n], 0, 1, 'float32', 2);
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    const dt = performance.now() - t0;
    c.dispose();
    if (i > 0) times.push(dt);
  }
  tf.dispose([a, b]);
  times.sort((x, y) => x - y);
  return (2 * m * k * n) / (times[Math.floor(times.length / 2)]! / 1000) / 1e9;
}
