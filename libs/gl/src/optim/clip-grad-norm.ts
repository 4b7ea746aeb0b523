import { tf } from '../tf';

/** The global L2 norm of all gradients together, sqrt(Σ ||g||²), as one scalar tensor. */
export function globalGradNorm(grads: ReadonlyMap<string, tf.Tensor>): tf.Scalar {
  return tf.tidy((): tf.Scalar => {
    const squares = [...grads.values()].map((g) => tf.sum<tf.Scalar>(tf.square(g)));
    return tf.sqrt(squares.length === 0 ? tf.scalar(0) : tf.addN<tf.Scalar>(squares));
  });
}

/**
 * Scales gradients so their global norm is at most `maxNorm`, as torch's `clip_grad_norm_`:
 * coef = min(1, maxNorm / (norm + 1e-6)). Works on tensors only (no read back), so a fit step can
 * clip without a device sync. Returns new tensors; the caller owns them.
 */
export function scaleToMaxNorm(grads: ReadonlyMap<string, tf.Tensor>, norm: tf.Scalar, maxNorm: number): Map<string, tf.Tensor> {
  assertMaxNorm(maxNorm);
  const out = new Map<string, tf.Tensor>();
  const coef = tf.tidy(() => tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-6)), 1));
  for (const [name, g] of grads) out.set(name, tf.mul(g, coef));
  coef.dispose();
  return out;
}

/**
 * Clips gradients by their global L2 norm. Returns the clipped gradients (new tensors, owned by
 * the caller) and the norm before clipping, which is what training logs report.
 */
export function clipGradNorm(grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number): { grads: Map<string, tf.Tensor>; totalNorm: number } {
  assertMaxNorm(maxNorm);
  const norm = globalGradNorm(grads);
  const clipped = scaleToMaxNorm(grads, norm, maxNorm);
  const totalNorm = norm.dataSync()[0]!;
  norm.dispose();
  return { grads: clipped, totalNorm };
}

function assertMaxNorm(maxNorm: number): void {
  if (typeof maxNorm !== 'number' || !Number.isFinite(maxNorm) || maxNorm <= 0) {
    throw new Error(`clipNorm must be a finite number > 0 (the paper clips at 1 for image tasks), got ${maxNorm}`);
  }
}
