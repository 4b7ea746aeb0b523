import { fastMatMul as matMul, fastMatMulBt as matMulBt, tf } from '@cola/gl';

/**
 * Fused ops for the host step, whose weights are frozen: each is one node on the tape that saves
 * only what the backward to its input needs, and computes that backward in closed form.
 *
 * Why: tfjs keeps every saved input of every primitive until the whole backward ends, and the
 * gradient of every intermediate too. Written with primitives, GELU keeps about ten tensors of
 * the MLP's width, LayerNorm five and masked softmax attention four of [B, H, T, T]; fused, GELU
 * keeps its input, LayerNorm its normalised input and 1/σ, attention q, k, v and the
 * probabilities. The forward values are computed by the same expressions as the primitive path
 * (bit for bit the same); the gradients differ from autodiff's by float32 rounding only.
 *
 * No gradient reaches gamma, beta or any weight here: these ops are for frozen-weight passes.
 */

const GELU_C = Math.sqrt(2 / Math.PI);

/** What a fused op's forward returns: its value, and its backward from dy and the saved tensors. */
interface Fused {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/** tf.customGrad with typed inputs: `f(inputs, save)`. */
function fused(f: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => Fused): (...inputs: tf.Tensor[]) => tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    return f(args as tf.Tensor[], save) as { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };
  });
  return (...inputs) => op(...inputs);
}

/** GPT-2's gelu_new written with primitives: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function geluExpr<T extends tf.Tensor>(x: T): T {
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), GELU_C);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

const geluOp = fused(([x], save) => {
  save([x!]);
  return {
    value: tf.tidy(() => geluExpr(x!)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [xs] = saved as [tf.Tensor];
        const x2 = tf.mul(xs, xs);
        const t = tf.tanh(tf.mul(tf.add(xs, tf.mul(tf.mul(x2, xs), 0.044715)), GELU_C));
        // d/dx: 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 * 0.044715 x^2)
        const dInner = tf.mul(tf.add(tf.mul(x2, 3 * 0.044715), 1), GELU_C);
        const d = tf.add(tf.mul(tf.add(t, 1), 0.5), tf.mul(tf.mul(tf.mul(xs, 0.5), tf.sub(1, tf.mul(t, t))), dInner));
        return [tf.mul(dy, d)];
      }),
  };
});

/** {@link geluExpr} as one fused op that saves its input only. */
export function leanGelu(x: tf.Tensor2D): tf.Tensor2D {
  return geluOp(x) as tf.Tensor2D;
}

/** LayerNorm over the last axis written with primitives (the differentiable path for training weights). */
export function layerNormExpr(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor2D {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

/**
 * LayerNorm as one fused op with frozen gamma and beta: saves x̂ and 1/σ; the backward is
 * dx = (1/σ) (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂)) with dx̂ = dy γ.
 */
export function leanLayerNorm(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor2D {
  const op = fused(([input], save) => {
    const [y, xhat, rstd] = tf.tidy(() => {
      const mean = tf.mean(input!, -1, true);
      const xc = tf.sub(input!, mean);
      const r = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps));
      const xh = tf.mul(xc, r);
      return [tf.add(tf.mul(xh, gamma), beta), xh, r];
    });
    save([xhat, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xh, r] = saved as [tf.Tensor, tf.Tensor];
          const dxh = tf.mul(dy, gamma);
          const a = tf.mean(dxh, -1, true);
          const b = tf.mean(tf.mul(dxh, xh), -1, true);
          return [tf.mul(tf.sub(tf.sub(dxh, a), tf.mul(xh, b)), r)];
        }),
    };
  });
  return op(x) as tf.Tensor2D;
}

/**
 * Causal attention's core, softmax(q kᵀ · scale + mask) v, with primitives: q, k, v [B, H, T, hd],
 * mask additive [B, 1, T, T].
 */
export function attentionExpr(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor4D, scale: number): tf.Tensor4D {
  const scores = tf.add(tf.mul(matMulBt(q, k), scale), mask);
  return matMul(tf.softmax(scores), v) as tf.Tensor4D;
}

/**
 * Multi-head causal attention from the fused projection to the merged heads, as one op:
 * qkv [B·T, 3d] → [B·T, d] (split into q, k, v of [B, H, T, hd], {@link attentionExpr}, heads
 * merged back). It saves q, k, v and the probabilities P; written with primitives, the split,
 * the five transposes and the score chain each kept their outputs and, in the backward, their
 * gradients. Backward: dV = Pᵀ dC, dP = dC Vᵀ, dS = P ∘ (dP - rowsum(dP ∘ P)),
 * dQ = dS K · scale, dK = dSᵀ Q · scale, then the heads are merged back into [B·T, 3d].
 */
export function leanAttention(qkv: tf.Tensor2D, mask: tf.Tensor4D, B: number, T: number, H: number, scale: number): tf.Tensor2D {
  const d = qkv.shape[1] / 3;
  const hd = d / H;
  const heads = (m: tf.Tensor): tf.Tensor4D => tf.transpose(tf.reshape(m, [B, T, H, hd]), [0, 2, 1, 3]);
  const merge = (m: tf.Tensor): tf.Tensor2D => tf.reshape(tf.transpose(m, [0, 2, 1, 3]), [B * T, d]);
  const op = fused(([input], save) => {
    const [q, k, v, p] = tf.tidy(() => {
      const [qi, ki, vi] = tf.split(input!, 3, 1).map(heads);
      return [qi!, ki!, vi!, tf.softmax(tf.add(tf.mul(matMulBt(qi!, ki!), scale), mask))];
    });
    const value = tf.tidy(() => merge(matMul(p, v)));
    save([q, k, v, p]);
    tf.dispose([q, k, v, p]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [qs, ks, vs, ps] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
          const dc = heads(dy);
          const dv = matMul(tf.transpose(ps, [0, 1, 3, 2]), dc);
          const dp = matMulBt(dc, vs);
          const ds = tf.mul(tf.mul(ps, tf.sub(dp, tf.sum(tf.mul(dp, ps), -1, true))), scale);
          const dq = matMul(ds, ks);
          const dk = matMul(tf.transpose(ds, [0, 1, 3, 2]), qs);
          return [tf.concat([merge(dq), merge(dk), merge(dv)], 1)];
        }),
    };
  });
  return op(qkv) as tf.Tensor2D;
}

/**
 * A linear map with frozen weights, `x w + b` plus any `extras` of the output's shape (an aux
 * output, a hidden input), as one fused op. tfjs's Add saves both its inputs for its gradient,
 * so written with primitives every tap kept its pre-bias and pre-extra outputs too; fused it keeps
 * nothing per token: dx = dy wᵀ, and each extra's gradient is dy.
 */
export function leanLinear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor, extras: tf.Tensor2D[]): tf.Tensor2D {
  const op = fused(([xi, ...more], save) => {
    // The weight is saved (shared, not copied): a merged W + dW is a temporary of the forward.
    save([w]);
    return {
      value: tf.tidy(() => {
        let h = tf.add(matMul(xi as tf.Tensor2D, w), b);
        for (const e of more) h = tf.add(h, e);
        return h;
      }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => [matMul(dy, tf.transpose(saved[0]!)), ...more.map(() => tf.clone(dy))]),
    };
  });
  return op(x, ...extras) as tf.Tensor2D;
}

/** `a + b` of equal shapes as a fused op that saves neither input (tfjs's Add saves both). */
export function leanAdd(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return addOp(a, b) as tf.Tensor2D;
}

const addOp = fused(([a, b]) => ({
  value: tf.add(a!, b!),
  gradFunc: (dy: tf.Tensor) => [tf.clone(dy), tf.clone(dy)],
}));
