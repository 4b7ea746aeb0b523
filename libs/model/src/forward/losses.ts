import { tf } from '@cola/gl';
import type { TokenBatch } from './token-batch';

/** A causal-LM batch, optionally restricting the loss to some target positions (completions). */
export interface LmTokenBatch extends TokenBatch {
  /**
   * 1 where the token at [b, t] is a training target, else 0 (same layout as `ids`); e.g. only the
   * completion of a prompt/completion row. Absent: every real next token is a target.
   */
  lossMask?: Int32Array;
}

/**
 * Next-token targets of a batch: position t predicts token t+1, counted only when both are real
 * tokens (a pad never predicts and is never predicted) and, with a `lossMask`, when token t+1 is
 * marked as a target. Weights are 1 for counted positions.
 */
export function nextTokenTargets(batch: LmTokenBatch): { targets: Int32Array; weights: Float32Array; count: number } {
  const { batch: B, seqLen: T, ids, mask, lossMask } = batch;
  if (lossMask && lossMask.length !== ids.length)
    throw new Error(`lossMask has ${lossMask.length} entries, ids has ${ids.length}; they must match`);
  const targets = new Int32Array(B * T);
  const weights = new Float32Array(B * T);
  let count = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const i = b * T + t;
      if (mask[i] === 1 && mask[i + 1] === 1 && (!lossMask || lossMask[i + 1] === 1)) {
        targets[i] = ids[i + 1];
        weights[i] = 1;
        count++;
      }
    }
  }
  return { targets, weights, count };
}

/** Per-row negative log-likelihood of `targets` under `logits` [N, C], via a stable logSumExp. */
function rowNll(logits: tf.Tensor2D, targets: Int32Array): tf.Tensor1D {
  const logp = tf.sub(logits, tf.logSumExp(logits, -1, true));
  const pick = tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), logits.shape[1]), 'float32');
  return tf.neg(tf.sum(tf.mul(pick, logp), -1)) as tf.Tensor1D;
}

/**
 * Summed next-token NLL (nats) over the real targets of a batch, and how many there are; for
 * perplexity over many batches. `logits` is [B, T, V].
 */
export function lmNllSum(logits: tf.Tensor3D, batch: LmTokenBatch): { sum: tf.Scalar; count: number } {
  const { targets, weights, count } = nextTokenTargets(batch);
  const [B, T, V] = logits.shape;
  const sum = tf.tidy(() => tf.sum(tf.mul(rowNll(tf.reshape(logits, [B * T, V]), targets), tf.tensor1d(weights))) as tf.Scalar);
  return { sum, count };
}

/** Mean token cross-entropy over the non-pad next-token targets of the batch. */
export function lmLoss(logits: tf.Tensor3D, batch: LmTokenBatch): tf.Scalar {
  const { targets, weights, count } = nextTokenTargets(batch);
  if (count === 0) throw new Error('lmLoss: the batch has no next-token target (every row needs at least 2 real tokens)');
  const [B, T, V] = logits.shape;
  return tf.tidy(() => tf.div(tf.sum(tf.mul(rowNll(tf.reshape(logits, [B * T, V]), targets), tf.tensor1d(weights))), count) as tf.Scalar);
}

/**
 * Mean-pools the class logits of the windows of each input: rows r with `windowOf[r] = e` average
 * into row e of the result [examples, C]. A matMul with a constant pooling matrix, so the gradient
 * reaches every window. When every input has one window in order, the result equals the input.
 */
export function poolWindows(logits: tf.Tensor2D, windowOf: Int32Array, examples: number): tf.Tensor2D {
  const [W] = logits.shape;
  if (windowOf.length !== W) throw new Error(`poolWindows: ${windowOf.length} window owners for ${W} rows`);
  const counts = new Float32Array(examples);
  for (const e of windowOf) {
    if (!Number.isInteger(e) || e < 0 || e >= examples) throw new Error(`poolWindows: window owner ${e} is outside [0, ${examples})`);
    counts[e]! += 1;
  }
  const pool = new Float32Array(examples * W);
  windowOf.forEach((e, r) => (pool[e * W + r] = 1 / counts[e]!));
  return tf.tidy(() => tf.matMul(tf.tensor2d(pool, [examples, W]), logits));
}

/**
 * Summed cross-entropy of class logits [B, C] against labels [B] in [0, C) (the host step divides
 * it by the row count of the whole batch when it runs the batch in row chunks).
 */
export function classificationNllSum(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  checkLabels(logits, labels, 'classificationNllSum');
  return tf.tidy(() => tf.sum(rowNll(logits, labels)) as tf.Scalar);
}

function checkLabels(logits: tf.Tensor2D, labels: Int32Array, owner: string): void {
  const [B, C] = logits.shape;
  if (labels.length !== B) throw new Error(`${owner}: ${labels.length} labels for a batch of ${B}`);
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 0 || l >= C) throw new Error(`${owner}: label ${l} is outside [0, ${C}); check numLabels`);
  }
}

/** Mean cross-entropy of class logits [B, C] against labels [B] in [0, C). */
export function classificationLoss(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  checkLabels(logits, labels, 'classificationLoss');
  return tf.tidy(() => tf.mean(rowNll(logits, labels)) as tf.Scalar);
}

/**
 * A loss group: the batch rows (sequences) [start, end) of one tenant in a mixed multi-tenant
 * batch. Rows of a group are contiguous.
 */
export interface RowGroup {
  /** First row of the group (inclusive). */
  start: number;
  /** One past the last row of the group (exclusive); greater than `start`. */
  end: number;
}

/** A grouped loss: the sum of each group's mean loss, and the group means themselves. */
export interface GroupedLoss {
  /** sum_g mean_g: its gradient on the rows of group g equals the gradient of mean_g alone. */
  total: tf.Scalar;
  /** mean_g of every group, in the order of the groups, [groups.length]. */
  perGroup: tf.Tensor1D;
}

/**
 * Checks row groups against a batch of `rows` sequences: at least one, integer bounds inside
 * [0, rows], non-empty, ascending and disjoint. Rows outside every group do not count in the loss.
 */
export function validateRowGroups(groups: readonly RowGroup[], rows: number, owner: string): void {
  if (groups.length === 0) throw new Error(`${owner}: groups is empty; pass one { start, end } row range per tenant, or leave groups out`);
  let prevEnd = 0;
  groups.forEach((g, i) => {
    if (!Number.isInteger(g.start) || !Number.isInteger(g.end) || g.start < 0 || g.end > rows || g.start >= g.end) {
      throw new Error(`${owner}: group ${i} is [${g.start}, ${g.end}); a group is a non-empty integer row range inside [0, ${rows})`);
    }
    if (g.start < prevEnd)
      throw new Error(
        `${owner}: group ${i} [${g.start}, ${g.end}) overlaps or precedes group ${i - 1}; list groups in ascending, disjoint row order`,
      );
    prevEnd = g.end;
  });
}

/**
 * The loss of a mixed multi-tenant classification batch: the sum over groups of each group's mean
 * cross-entropy. Because the groups' rows are independent (no op of the model mixes sequences),
 * d total / d (a row of group g) equals d mean_g / d (that row): every tenant gets exactly the
 * hidden gradient G of its solo batch, instead of one scaled by its share of a global mean.
 */
export function groupedClassificationLoss(logits: tf.Tensor2D, labels: Int32Array, groups: readonly RowGroup[]): GroupedLoss {
  const [B, C] = logits.shape;
  if (labels.length !== B) throw new Error(`groupedClassificationLoss: ${labels.length} labels for a batch of ${B}`);
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 0 || l >= C)
      throw new Error(`groupedClassificationLoss: label ${l} is outside [0, ${C}); check numLabels`);
  }
  validateRowGroups(groups, B, 'groupedClassificationLoss');
  return tf.tidy(() => {
    const nll = rowNll(logits, labels);
    // The same mean over the same values as classificationLoss of the group alone.
    const perGroup = tf.stack(groups.map((g) => tf.mean(tf.slice(nll, [g.start], [g.end - g.start])))) as tf.Tensor1D;
    return { total: tf.sum(perGroup) as tf.Scalar, perGroup };
  });
}

/**
 * The loss of a mixed multi-tenant causal-LM batch: the sum over groups of each group's mean
 * next-token cross-entropy (each over its own target count), so each tenant's G equals its solo G.
 * A group without any next-token target is an error, as in {@link lmLoss}.
 */
export function groupedLmLoss(logits: tf.Tensor3D, batch: LmTokenBatch, groups: readonly RowGroup[]): GroupedLoss {
  const { targets, weights } = nextTokenTargets(batch);
  const [B, T, V] = logits.shape;
  validateRowGroups(groups, B, 'groupedLmLoss');
  const counts = groups.map((g, i) => {
    let n = 0;
    for (let k = g.start * T; k < g.end * T; k++) n += weights[k];
    if (n === 0)
      throw new Error(
        `groupedLmLoss: group ${i} (rows ${g.start}-${g.end - 1}) has no next-token target (every row needs at least 2 real tokens)`,
      );
    return n;
  });
  return tf.tidy(() => {
    const weighted = tf.mul(rowNll(tf.reshape(logits, [B * T, V]), targets), tf.tensor1d(weights));
    const perGroup = tf.stack(
      groups.map((g, i) => tf.div(tf.sum(tf.slice(weighted, [g.start * T], [(g.end - g.start) * T])), counts[i]!)),
    ) as tf.Tensor1D;
    return { total: tf.sum(perGroup) as tf.Scalar, perGroup };
  });
}
