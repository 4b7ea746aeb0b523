import { tf } from '../tf';
import { param } from '../adapters/adapter-params';
import type { AuxAdapter } from '../adapters/aux-adapter';
import { supportsGram } from '../adapters/aux-config';
import { assertDataFits, type AdaptationData, type GramAdaptationData } from './adaptation-data';
import { stopGradient } from './stop-gradient';

/** Options of {@link glGradients}. */
export interface GlGradientOptions {
  /**
   * Run the aux forward in training mode (dropout on). Default true: fitting is training. Only
   * matters for a lowrank aux with dropout.
   */
  training?: boolean;
  /** Dropout seed; pass the host's to draw the same mask it used (see ForwardOptions). */
  dropoutSeed?: number;
}

/**
 * The GL surrogate loss of DESIGN.md section 1, reduction sum:
 *
 *     l(w) = ½ · Σ_rows ‖ g_w(X) − stopgrad(g_w(X) − G) ‖²
 *
 * written as ½‖g_w(X) − stopgrad(g_w(X)) + G‖², the same function. The rewrite is for floating
 * point: y − y is exactly 0, so the residual is exactly G, while y − (y − G) loses the low bits
 * of G whenever |y| ≫ |G| (G carries a 1/B factor and is usually tiny next to y).
 */
export function glSurrogateLoss(adapter: AuxAdapter, x: tf.Tensor2D, g: tf.Tensor2D, opts: GlGradientOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    const y = adapter.forward(x, { training: opts.training ?? true, dropoutSeed: opts.dropoutSeed });
    const residual = tf.add(tf.sub(y, stopGradient(y)), g);
    return tf.mul(tf.sum(tf.square(residual)), 0.5);
  });
}

/**
 * Closed-form gradients from the gram S = X^T G (DESIGN.md, "gram transfer"), exact for:
 *   linear   dV = S,              db = colsum(G)
 *   lowrank  dA = s · S B^T,      dB = s · A^T S
 */
function gramGradients(adapter: AuxAdapter, data: GramAdaptationData): Record<string, tf.Tensor> {
  const { config } = adapter;
  if (!supportsGram(config)) {
    throw new Error(
      config.type === 'mlp'
        ? 'an mlp aux cannot be fitted from gram data (its gradient needs X and G themselves); send raw adaptation data for this layer'
        : 'a lowrank aux with dropout cannot be fitted from gram data (the dropout mask acts on X row by row); send raw adaptation data or set dropout to 0',
    );
  }
  const { xtg, colsumG } = data;
  switch (config.type) {
    case 'linear':
      return config.bias ? { V: tf.clone(xtg), b: tf.clone(colsumG) } : { V: tf.clone(xtg) };
    case 'lowrank': {
      const A = param<tf.Rank.R2>(adapter.params, 'A');
      const B = param<tf.Rank.R2>(adapter.params, 'B');
      const s = config.scale;
      return { A: tf.mul(tf.matMul(xtg, B, false, true), s), B: tf.mul(tf.matMul(A, xtg, true, false), s) };
    }
    case 'mlp':
      throw new Error('internal: supportsGram let an mlp through');
  }
}

/**
 * dl/dw for every aux parameter, keyed like `adapter.params`. This is J_w^T G = dL/dw, the very
 * gradient back-propagation through the whole model would give (Proposition 1 of the paper).
 *
 * Raw data go through the surrogate loss and autodiff, which is honest GL and works for every aux
 * type; gram data use the closed forms (linear, dropout-free lowrank only). Returns new tensors,
 * owned by the caller.
 */
export function glGradients(adapter: AuxAdapter, data: AdaptationData, opts: GlGradientOptions = {}): Map<string, tf.Tensor> {
  assertDataFits(data, adapter.dIn, adapter.dOut, 'glGradients');
  const grads = tf.tidy(() => {
    if (data.kind === 'gram') return gramGradients(adapter, data);
    const vars = [...adapter.params.values()];
    const { value, grads: byVarName } = tf.variableGrads(() => glSurrogateLoss(adapter, data.x, data.g, opts), vars);
    value.dispose();
    const out: Record<string, tf.Tensor> = {};
    for (const [name, v] of adapter.params) {
      const grad = byVarName[v.name];
      // A parameter the output does not depend on (none today) gets a zero gradient, as in torch.
      out[name] = grad ?? tf.zerosLike(v);
    }
    return out;
  });
  return new Map(Object.entries(grads));
}
