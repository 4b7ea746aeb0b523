import { tf } from '../tf';
import type { AuxAdapter } from '../adapters/aux-adapter';
import { gramBlocker } from '../adapters/aux-config';
import { auxTypeOf } from '../adapters/aux-registry';
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
 * The GL surrogate loss of docs/design.md section 1, reduction sum:
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
 * Closed-form gradients from the gram S = X^T G (docs/design.md, "gram transfer"), given by the aux
 * type's definition (linear: dV = S, db = colsum(G); lowrank: dA = s · S B^T, dB = s · A^T S).
 */
function gramGradients(adapter: AuxAdapter, data: GramAdaptationData): Record<string, tf.Tensor> {
  const { config } = adapter;
  const blocker = gramBlocker(config);
  if (blocker !== undefined) throw new Error(blocker);
  return auxTypeOf(config.type).gram!.gradients(adapter, config, data);
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
