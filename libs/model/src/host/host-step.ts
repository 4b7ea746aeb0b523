import { tf } from '@cola/gl';
import { forward, type GptHead, type InjectFn, type TapDelta } from '../forward/forward';
import {
  classificationLoss,
  classificationNllSum,
  groupedClassificationLoss,
  groupedLmLoss,
  lmLoss,
  lmNllSum,
  poolWindows,
  validateRowGroups,
} from '../forward/losses';
import type { LmTokenBatch, RowGroup } from '../forward/losses';
import { SCORE_TAP, tapShape } from '../taps/taps';
import type { GptModel } from '../weights/gpt-model';

/** Options for {@link hostStep}. */
export interface HostStepOptions {
  /** 'lm': mean next-token cross-entropy; 'cls': mean cross-entropy of `labels`. */
  head: GptHead;
  /** Class of each row, [batch], required for head 'cls'. */
  labels?: Int32Array;
  /** Full tap names to return adaptation data for (see `resolveTaps`); at least one, no duplicates. */
  taps: readonly string[];
  /** Unmerged aux outputs, added at their taps (current aux version). */
  inject?: InjectFn;
  /** Merged aux deltas: their taps compute with W + dW, b + db. */
  deltas?: ReadonlyMap<string, TapDelta>;
  /**
   * Row ranges of the tenants of a mixed multi-tenant batch. When given, the loss is the SUM of
   * each group's MEAN loss (not one mean over the batch), so each tenant's G on its rows equals the
   * G of its solo batch; the result then carries the group means too. Absent: one batch mean.
   */
  groups?: readonly RowGroup[];
  /**
   * Divide the summed loss by this count instead of taking the batch's own mean: the number of
   * inputs ('cls': labels) or of next-token targets ('lm') of the WHOLE batch this one is a row chunk of.
   * Rows are independent, so each chunk's G then equals the whole batch's G on its rows and the
   * chunks' losses add up to the whole batch's (see `chunkedHostStep`). Not with `groups`.
   */
  lossDivisor?: number;
  /**
   * Head 'cls' on windows of longer inputs: the input (index into `labels`) of each row. The
   * logits of an input's windows are mean-pooled before the loss (see `poolWindows`).
   */
  windowOf?: Int32Array;
  /**
   * 'fused' (default): the frozen-weight forward (see ForwardOptions.frozen), which keeps only what
   * the backward to the hidden states needs. 'primitive': every op written with tfjs primitives,
   * as the training forward; kept to measure the two side by side (bench:host-memory).
   */
  ops?: 'fused' | 'primitive';
}

/** Adaptation data of one tap: its input and the loss gradient at its (adapted) output. */
export interface TapAdaptation {
  /** X_m, the tap's input: [B*T, dIn] for block taps, [B, dIn] (pooled rows) for `score`. */
  x: tf.Tensor2D;
  /** G_m = dL/dh~_m, [rows, dOut]. L is the batch mean, so G already carries the 1/count factor. */
  g: tf.Tensor2D;
}

/** Result of {@link hostStep}. The tensors belong to the caller, who must dispose them. */
export interface HostStepResult {
  /** The loss of the batch, computed with the given aux (injected or merged); with `groups`, the sum of the group means. */
  loss: number;
  /** With `groups`: each group's mean loss, in the order of the groups. */
  groupLosses?: number[];
  /** Adaptation data per requested tap, in the order of `taps`. */
  taps: Map<string, TapAdaptation>;
  /**
   * Wall milliseconds of the forward pass (through the loss) and of the back-propagation to the
   * adapted outputs (through reading the loss), for the gpu-host's stage metrics (where the step's time goes).
   * Exact on the synchronous backends (wasm, cpu, tfjs-node); on an asynchronous one the forward
   * share counts kernel dispatch only and the rest lands in `backwardMs`.
   */
  timings: { forwardMs: number; backwardMs: number };
}

/**
 * The host step of ColA: one forward pass with the current aux applied, then back-propagation to
 * the adapted outputs only.
 *
 * A zero tensor z_m is added at each tap's output and made the explicit input of
 * f(z_1..z_M) = loss; `tf.grads` over the z's gives dL/dz_m = dL/dh~_m = G_m exactly, in both the
 * unmerged and the merged mode. tfjs prunes the backward tape to the paths that start at the z's,
 * so no gradient of a base weight and none of an aux parameter is ever computed (the weights are
 * not on such a path; the aux outputs are differentiated only with respect to their inputs).
 * X_m are captured in the same forward pass.
 */
export function hostStep(model: GptModel, batch: LmTokenBatch, opts: HostStepOptions): HostStepResult {
  const config = model.config;
  if (opts.taps.length === 0) throw new Error('hostStep: taps is empty; pass the adapted taps, e.g. resolveTaps(config, ["c_attn"])');
  if (new Set(opts.taps).size !== opts.taps.length) throw new Error(`hostStep: taps has duplicates (${opts.taps.join(', ')})`);
  if (opts.head === 'cls' && !opts.labels) throw new Error('hostStep: head "cls" needs labels (Int32Array, one class per row)');
  if (opts.head === 'lm' && opts.taps.includes(SCORE_TAP)) throw new Error('hostStep: tap "score" only exists for head "cls"');
  const groups = opts.groups;
  if (groups) validateRowGroups(groups, batch.batch, 'hostStep');
  const divisor = opts.lossDivisor;
  if (divisor !== undefined && (groups || !(divisor > 0) || !Number.isFinite(divisor)))
    throw new Error(`hostStep: lossDivisor must be a positive count and cannot be combined with groups, got ${divisor}`);
  if (groups && opts.windowOf) throw new Error('hostStep: windowOf and groups cannot be combined; window a tenant batch before mixing');
  const shapes = opts.taps.map((t) => tapShape(config, t));
  const rows = (t: string): number => (t === SCORE_TAP ? batch.batch : batch.batch * batch.seqLen);

  const capture = new Map<string, tf.Tensor2D>();
  // The group means escape the gradient's tidy scope through tf.keep; read and freed below.
  let perGroup: tf.Tensor1D | undefined;
  const zs = opts.taps.map((t, i) => tf.zeros([rows(t), shapes[i].dOut]) as tf.Tensor2D);
  const t0 = performance.now();
  let forwardEnd = t0;
  const lossOf = (...z: tf.Tensor[]): tf.Scalar => {
    const loss = lossOfInputs(z);
    // valueAndGrads calls f exactly once, forward first, then runs the backward tape.
    forwardEnd = performance.now();
    return loss;
  };
  const lossOfInputs = (z: tf.Tensor[]): tf.Scalar => {
    const hiddenInputs = new Map(opts.taps.map((t, i) => [t, z[i] as tf.Tensor2D]));
    const common = {
      inject: opts.inject,
      deltas: opts.deltas,
      hiddenInputs,
      capture,
      captureTaps: opts.taps,
      frozen: (opts.ops ?? 'fused') === 'fused',
    };
    if (groups) {
      const grouped =
        opts.head === 'cls'
          ? groupedClassificationLoss(forward(model, batch, { ...common, head: 'cls' }), opts.labels as Int32Array, groups)
          : groupedLmLoss(forward(model, batch, { ...common, head: 'lm' }), batch, groups);
      perGroup = tf.keep(grouped.perGroup);
      return grouped.total;
    }
    if (opts.head === 'cls') {
      const logits = forward(model, batch, { ...common, head: 'cls' });
      const labels = opts.labels as Int32Array;
      const pooled = opts.windowOf ? poolWindows(logits, opts.windowOf, labels.length) : logits;
      if (divisor !== undefined) return tf.div(classificationNllSum(pooled, labels), divisor) as tf.Scalar;
      return classificationLoss(pooled, labels);
    }
    if (divisor !== undefined) return tf.div(lmNllSum(forward(model, batch, { ...common, head: 'lm' }), batch).sum, divisor) as tf.Scalar;
    return lmLoss(forward(model, batch, { ...common, head: 'lm' }), batch);
  };
  try {
    const { value, grads } = tf.valueAndGrads(lossOf)(zs);
    const loss = value.dataSync()[0];
    value.dispose();
    const groupLosses = perGroup ? Array.from(perGroup.dataSync()) : undefined;
    const timings = { forwardMs: forwardEnd - t0, backwardMs: performance.now() - forwardEnd };
    const taps = new Map<string, TapAdaptation>();
    opts.taps.forEach((t, i) => {
      const x = capture.get(t);
      if (!x) throw new Error(`hostStep: tap "${t}" was not reached by the forward pass`);
      taps.set(t, { x, g: grads[i] as tf.Tensor2D });
    });
    return groupLosses ? { loss, groupLosses, taps, timings } : { loss, taps, timings };
  } catch (err) {
    for (const x of capture.values()) x.dispose();
    throw err;
  } finally {
    for (const z of zs) z.dispose();
    perGroup?.dispose();
  }
}
