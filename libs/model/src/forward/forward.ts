import { tf } from '@cola/gl';
import type { ClsPooling } from '../config/gpt-config';
import type { GptModel } from '../weights/gpt-model';
import { fastMatMul as matMul, fastMatMulBt as matMulBt } from '@cola/gl';
import { allTaps, SCORE_TAP, tapShape } from '../taps/taps';
import { lastTokenIndices, validateTokenBatch, type TokenBatch } from './token-batch';
import { attentionExpr, geluExpr, layerNormExpr, leanAdd, leanAttention, leanGelu, leanLayerNorm, leanLinear } from './lean-ops';

/** Which head the forward pass ends in. */
export type GptHead = 'lm' | 'cls';

/** A merged-mode weight delta for one tap, in the tap's [dIn, dOut] orientation. */
export interface TapDelta {
  /** Added to the tap's weight: [dIn, dOut] (for `score` too, although `score.weight` is stored [out, in]). */
  dW: tf.Tensor2D;
  /** Added to the tap's bias: [dOut]. */
  db?: tf.Tensor1D;
}

/**
 * Computes an unmerged aux output a_m for one tap from its input X ([rows, dIn], rows in batch
 * order: token rows b*T+t, or one pooled row per sequence for `score`). Return [rows, dOut] to add
 * it to the tap's output, or null to leave the tap alone.
 */
export type InjectFn = (tap: string, x: tf.Tensor2D) => tf.Tensor2D | null;

/** Options for {@link forward}. Every map is keyed by full tap name (see `resolveTaps`). */
export interface ForwardOptions {
  /** 'lm' returns logits [B, T, vocabSize]; 'cls' returns logits [B, numLabels] from the last real token. */
  head: GptHead;
  /** Unmerged aux: its output is added to the tap's output, h~ = X W + b + a. */
  inject?: InjectFn;
  /** Merged aux: the tap computes X (W + dW) + b + db. */
  deltas?: ReadonlyMap<string, TapDelta>;
  /**
   * Tensors added to a tap's output ([rows, dOut]). The host step feeds zeros here and
   * differentiates with respect to them: d loss / d z = d loss / d h~ = G.
   */
  hiddenInputs?: ReadonlyMap<string, tf.Tensor2D>;
  /**
   * Receives the input X of each tap in `captureTaps`. The recorded tensors are `tf.keep`-ed, so
   * they survive any enclosing `tf.tidy`: the caller owns them and must dispose them.
   */
  capture?: Map<string, tf.Tensor2D>;
  /** Which taps `capture` records. Default: every tap the forward pass runs through. */
  captureTaps?: readonly string[];
  /**
   * The weights are frozen (the host step, evaluation): LayerNorm, GELU and the attention core
   * run as fused ops that keep only what the backward to the hidden states needs (see
   * lean-ops.ts). Same forward values; no gradient reaches any weight. Default false.
   */
  frozen?: boolean;
  /** How the cls head pools a row's final hidden states. Default: the model's `clsPooling` ('last' when unset). */
  clsPooling?: ClsPooling;
}

/** Per-call state shared by the taps of one forward pass. */
interface TapContext {
  inject?: InjectFn;
  deltas?: ReadonlyMap<string, TapDelta>;
  hiddenInputs?: ReadonlyMap<string, tf.Tensor2D>;
  capture?: Map<string, tf.Tensor2D>;
  captureSet?: ReadonlySet<string>;
  /** Frozen weights: taps run as one fused op (see ForwardOptions.frozen). */
  frozen?: boolean;
}

/** Any additive mask value this negative gives exp() == 0 in float32 after softmax's max shift. */
const MASKED = -1e9;

/**
 * The GPT forward pass: pre-LayerNorm decoder, causal multi-head attention with key padding
 * masked, GELU (tanh) MLP, learned positions, LM head tied to `wte`. Works inside `tf.tidy`,
 * `tf.grads` and `tf.variableGrads`; the caller disposes the returned logits.
 */
export function forward(model: GptModel, batch: TokenBatch, opts: ForwardOptions & { head: 'lm' }): tf.Tensor3D;
export function forward(model: GptModel, batch: TokenBatch, opts: ForwardOptions & { head: 'cls' }): tf.Tensor2D;
export function forward(model: GptModel, batch: TokenBatch, opts: ForwardOptions): tf.Tensor3D | tf.Tensor2D;
export function forward(model: GptModel, batch: TokenBatch, opts: ForwardOptions): tf.Tensor3D | tf.Tensor2D {
  const config = model.config;
  validateTokenBatch(config, batch);
  if (opts.head === 'cls' && config.numLabels === undefined) {
    throw new Error('head "cls" needs a classification head: call initClassificationHead(model, numLabels) first');
  }
  checkTapMaps(model, batch, opts);
  const pooledRows = opts.head === 'cls' ? lastTokenIndices(batch) : undefined;
  const ctx: TapContext = {
    inject: opts.inject,
    deltas: opts.deltas,
    hiddenInputs: opts.hiddenInputs,
    capture: opts.capture,
    captureSet: opts.capture ? new Set(opts.captureTaps ?? allTaps(config)) : undefined,
    frozen: opts.frozen,
  };
  return tf.tidy(() => {
    const { batch: B, seqLen: T } = batch;
    const { vocabSize: V, nEmbd: d, nHead: H, nLayer } = config;
    const hd = d / H;
    // Embedding lookup by one-hot matMul: the wasm backend has no UnsortedSegmentSum, so the
    // gradient of tf.gather would fail during pretraining.
    const oneHot = tf.cast(tf.oneHot(tf.tensor1d(batch.ids, 'int32'), V), 'float32');
    const tok = matMul(oneHot, model.weight('wte.weight'));
    const pos = tf.slice(model.weight('wpe.weight'), [0, 0], [T, d]);
    let x: tf.Tensor2D = tf.add(tok, tf.tile(pos, [B, 1]));
    const attnMask = tf.tensor4d(attentionMask(batch), [B, 1, T, T]);
    const scale = 1 / Math.sqrt(hd);
    const eps = config.layerNormEpsilon;
    const layerNorm = opts.frozen ? leanLayerNorm : layerNormExpr;
    const gelu = opts.frozen ? leanGelu : geluExpr;
    const attention = (qkv: tf.Tensor2D): tf.Tensor2D => {
      if (opts.frozen) return leanAttention(qkv, attnMask, B, T, H, scale);
      const [q, k, v] = tf.split(qkv, 3, 1).map((m) => tf.transpose(tf.reshape(m, [B, T, H, hd]), [0, 2, 1, 3]) as tf.Tensor4D);
      return tf.reshape(tf.transpose(attentionExpr(q!, k!, v!, attnMask, scale), [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D;
    };
    const residual = opts.frozen ? leanAdd : (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D => tf.add(a, b);

    for (let i = 0; i < nLayer; i++) {
      const p = `h.${i}.`;
      const input = x;
      const block = (): tf.Tensor2D => {
        const a = layerNorm(input, model.weight(`${p}ln_1.weight`), model.weight(`${p}ln_1.bias`), eps);
        const qkv = tap(ctx, `${p}attn.c_attn`, a, model.weight(`${p}attn.c_attn.weight`), model.weight(`${p}attn.c_attn.bias`));
        const merged = attention(qkv);
        const h = residual(
          input,
          tap(ctx, `${p}attn.c_proj`, merged, model.weight(`${p}attn.c_proj.weight`), model.weight(`${p}attn.c_proj.bias`)),
        );
        const m = layerNorm(h, model.weight(`${p}ln_2.weight`), model.weight(`${p}ln_2.bias`), eps);
        const fc = gelu(tap(ctx, `${p}mlp.c_fc`, m, model.weight(`${p}mlp.c_fc.weight`), model.weight(`${p}mlp.c_fc.bias`)));
        return residual(h, tap(ctx, `${p}mlp.c_proj`, fc, model.weight(`${p}mlp.c_proj.weight`), model.weight(`${p}mlp.c_proj.bias`)));
      };
      if (!opts.frozen) x = block();
      else {
        // One tidy per block: its intermediates are freed as soon as it ends (what a backward
        // needs is saved by the ops themselves), so a pass holds one block's temporaries at a time.
        x = tf.tidy(block);
        input.dispose();
      }
    }
    const hN = layerNorm(x, model.weight('ln_f.weight'), model.weight('ln_f.bias'), eps);

    if (pooledRows === undefined) {
      const logits = matMulBt(hN, model.weight('wte.weight'));
      return tf.reshape(logits, [B, T, V]) as tf.Tensor3D;
    }
    // Pool with a row selector matrix (gather has no wasm gradient): one-hot at the last real
    // token, or 1/n over the row's n real tokens.
    const sel = new Float32Array(B * B * T);
    if ((opts.clsPooling ?? config.clsPooling ?? 'last') === 'mean') {
      for (let r = 0; r < B; r++) {
        let n = 0;
        for (let t = 0; t < T; t++) n += batch.mask[r * T + t]!;
        for (let t = 0; t < T; t++) if (batch.mask[r * T + t] === 1) sel[r * B * T + r * T + t] = 1 / n;
      }
    } else pooledRows.forEach((t, r) => (sel[r * B * T + r * T + t] = 1));
    const pooled = matMul(tf.tensor2d(sel, [B, B * T]), hN);
    return scoreTap(ctx, pooled, model.weight('score.weight') as tf.Tensor2D, model.weight('score.bias') as tf.Tensor1D);
  });
}

/**
 * One adaptable linear module: X W + b (+ dW, db merged) (+ injected aux) (+ hidden input).
 * `w` is [dIn, dOut] (GPT-2 Conv1D layout).
 */
function tap(ctx: TapContext, name: string, x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  if (ctx.capture && ctx.captureSet?.has(name)) ctx.capture.set(name, tf.keep(x));
  const delta = ctx.deltas?.get(name);
  const wEff = delta ? tf.add(w, delta.dW) : w;
  const bEff = delta?.db ? tf.add(b, delta.db) : b;
  if (ctx.frozen) {
    const dOut = wEff.shape[1]!;
    const extras = [auxOutput(ctx, name, x, dOut), ctx.hiddenInputs?.get(name)].filter((t): t is tf.Tensor2D => !!t);
    return leanLinear(x, wEff, bEff, extras);
  }
  const h: tf.Tensor2D = tf.add(matMul(x, wEff), bEff);
  return addAuxAndHidden(ctx, name, x, h);
}

/** The unmerged aux output at a tap, checked against the tap's output shape, or null. */
function auxOutput(ctx: TapContext, name: string, x: tf.Tensor2D, dOut: number): tf.Tensor2D | null {
  const a = ctx.inject?.(name, x);
  if (!a) return null;
  if (a.shape[0] !== x.shape[0] || a.shape[1] !== dOut) {
    throw new Error(`inject("${name}") returned shape [${a.shape}], but the tap's output is [${x.shape[0]},${dOut}]`);
  }
  return a;
}

/** The `score` head: its weight is stored [out, in] (HF nn.Linear), its delta [in, out] like every tap. */
function scoreTap(ctx: TapContext, x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (ctx.capture && ctx.captureSet?.has(SCORE_TAP)) ctx.capture.set(SCORE_TAP, tf.keep(x));
  const delta = ctx.deltas?.get(SCORE_TAP);
  const h = delta ? tf.add(matMul(x, tf.add(tf.transpose(w), delta.dW)), delta.db ? tf.add(b, delta.db) : b) : tf.add(matMulBt(x, w), b);
  return addAuxAndHidden(ctx, SCORE_TAP, x, h as tf.Tensor2D);
}

function addAuxAndHidden(ctx: TapContext, name: string, x: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
  const a = auxOutput(ctx, name, x, h.shape[1]);
  if (a) h = tf.add(h, a);
  const z = ctx.hiddenInputs?.get(name);
  if (z) h = tf.add(h, z);
  return h;
}

/** Additive [B, 1, T, T] mask: 0 where query i may see key j (j <= i and j is a real token). */
function attentionMask(batch: TokenBatch): Float32Array {
  const { batch: B, seqLen: T, mask } = batch;
  const out = new Float32Array(B * T * T);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      const row = (b * T + i) * T;
      for (let j = 0; j < T; j++) out[row + j] = j <= i && mask[b * T + j] === 1 ? 0 : MASKED;
    }
  }
  return out;
}

/** Rejects maps keyed by non-taps or holding wrongly shaped tensors before any compute runs. */
function checkTapMaps(model: GptModel, batch: TokenBatch, opts: ForwardOptions): void {
  const config = model.config;
  const rows = (tapName: string): number => (tapName === SCORE_TAP ? batch.batch : batch.batch * batch.seqLen);
  for (const [name, delta] of opts.deltas ?? []) {
    const { dIn, dOut } = tapShape(config, name);
    if (delta.dW.shape[0] !== dIn || delta.dW.shape[1] !== dOut) {
      throw new Error(`deltas["${name}"].dW has shape [${delta.dW.shape}], expected [dIn, dOut] = [${dIn}, ${dOut}]`);
    }
    if (delta.db && delta.db.shape[0] !== dOut) throw new Error(`deltas["${name}"].db has shape [${delta.db.shape}], expected [${dOut}]`);
  }
  for (const [name, z] of opts.hiddenInputs ?? []) {
    const { dOut } = tapShape(config, name);
    if (z.shape[0] !== rows(name) || z.shape[1] !== dOut) {
      throw new Error(`hiddenInputs["${name}"] has shape [${z.shape}], expected [${rows(name)}, ${dOut}]`);
    }
  }
  for (const name of opts.captureTaps ?? []) tapShape(config, name);
  const onlyCls = [...(opts.deltas?.keys() ?? []), ...(opts.hiddenInputs?.keys() ?? []), ...(opts.captureTaps ?? [])];
  if (opts.head === 'lm' && onlyCls.includes(SCORE_TAP)) {
    throw new Error('The "score" tap only exists on the cls head; drop it from the maps for head "lm"');
  }
}
