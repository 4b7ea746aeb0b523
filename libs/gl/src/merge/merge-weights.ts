import { tf } from '../tf';
import type { AdapterDelta, AuxAdapter } from '../adapters/aux-adapter';

/** Base weights of one linear layer, merged or not. */
export interface LayerWeights {
  /** Weight [dIn, dOut]. */
  w: tf.Tensor2D;
  /** Bias [dOut]; absent for a layer without bias. */
  b?: tf.Tensor1D;
}

/**
 * The weight change of a mergeable aux: s·A·B for lowrank, V (and its bias) for linear. Throws
 * with a clear message for an mlp. New tensors, owned by the caller.
 */
export function deltaWeights(adapter: AuxAdapter): AdapterDelta {
  if (!adapter.mergeable) {
    throw new Error(`a ${adapter.config.type} aux is not mergeable; serve it unmerged (h = X W + b + g(X)) or use a lowrank or linear aux`);
  }
  return adapter.delta();
}

function assertFits(w: tf.Tensor2D, b: tf.Tensor1D | undefined, delta: AdapterDelta, owner: string): void {
  const [dIn, dOut] = w.shape;
  if (delta.dW.shape[0] !== dIn || delta.dW.shape[1] !== dOut) {
    throw new Error(`${owner}: dW [${delta.dW.shape.join(', ')}] does not fit W [${dIn}, ${dOut}]`);
  }
  if (b && b.shape[0] !== dOut) throw new Error(`${owner}: b [${b.shape.join(', ')}] does not fit W [${dIn}, ${dOut}]`);
  if (delta.db && delta.db.shape[0] !== dOut)
    throw new Error(`${owner}: db [${delta.db.shape.join(', ')}] does not fit W [${dIn}, ${dOut}]`);
}

function combine(w: tf.Tensor2D, b: tf.Tensor1D | undefined, delta: AdapterDelta, sign: 1 | -1, scale: number): LayerWeights {
  const f = sign * scale;
  const outW = tf.tidy(() => tf.add<tf.Tensor2D>(w, f === 1 ? delta.dW : tf.mul(delta.dW, f)));
  const { db } = delta;
  if (!db) return b ? { w: outW, b: tf.clone(b) } : { w: outW };
  // A layer without bias gains one when a linear aux with bias is merged into it.
  const outB = tf.tidy(() => {
    const scaled = f === 1 ? db : tf.mul<tf.Tensor1D>(db, f);
    return b ? tf.add<tf.Tensor1D>(b, scaled) : f === 1 ? tf.clone(db) : scaled;
  });
  return { w: outW, b: outB };
}

/**
 * W + scale·dW and b + scale·db (merged serving: one matMul instead of base plus aux). `scale` is
 * 1 for one tenant; the collaborative merge adds each tenant's delta with 1/K. New tensors.
 */
export function mergeWeights(w: tf.Tensor2D, b: tf.Tensor1D | undefined, delta: AdapterDelta, scale = 1): LayerWeights {
  assertFits(w, b, delta, 'mergeWeights');
  return combine(w, b, delta, 1, scale);
}

/**
 * The inverse of {@link mergeWeights}: W − scale·dW and b − scale·db, equal to the original up to
 * float rounding. New tensors.
 */
export function unmergeWeights(w: tf.Tensor2D, b: tf.Tensor1D | undefined, delta: AdapterDelta, scale = 1): LayerWeights {
  assertFits(w, b, delta, 'unmergeWeights');
  return combine(w, b, delta, -1, scale);
}
