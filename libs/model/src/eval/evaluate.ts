import { tf } from '@cola/gl';
import { forward, type InjectFn, type TapDelta } from '../forward/forward';
import { lmNllSum, type LmTokenBatch } from '../forward/losses';
import type { TokenBatch } from '../forward/token-batch';
import type { GptModel } from '../weights/gpt-model';

/** Aux to apply while evaluating, as in `forward`. */
export interface EvalOptions {
  /** Unmerged aux outputs, added at their taps. */
  inject?: InjectFn;
  /** Merged aux deltas. */
  deltas?: ReadonlyMap<string, TapDelta>;
}

/** A classification batch: token rows plus one class per row. */
export interface LabelledTokenBatch extends TokenBatch {
  /** Class id of each row, [batch]. */
  labels: Int32Array;
}

/** Result of {@link evaluateAccuracy}. */
export interface AccuracyResult {
  /** Fraction of rows whose arg-max class equals the label. */
  accuracy: number;
  /** Mean cross-entropy (nats) over all rows. */
  loss: number;
  /** Number of rows evaluated. */
  count: number;
}

/** Result of {@link evaluatePerplexity}. */
export interface PerplexityResult {
  /** exp(mean NLL): per token, i.e. per byte for the byte-level tokenizer. */
  perplexity: number;
  /** Mean next-token NLL in nats. */
  nll: number;
  /** Number of next-token targets scored. */
  tokens: number;
}

/** Classification accuracy and loss over batches, with the given aux applied. */
export function evaluateAccuracy(model: GptModel, batches: Iterable<LabelledTokenBatch>, opts: EvalOptions = {}): AccuracyResult {
  let correct = 0;
  let count = 0;
  let nllSum = 0;
  for (const b of batches) {
    const [pred, nll] = tf.tidy(() => {
      const logits = forward(model, b, { head: 'cls', inject: opts.inject, deltas: opts.deltas });
      const logp = tf.sub(logits, tf.logSumExp(logits, -1, true));
      const picked = tf.sum(tf.mul(logp, tf.cast(tf.oneHot(tf.tensor1d(b.labels, 'int32'), logits.shape[1]), 'float32')));
      return [tf.argMax(logits, -1), tf.neg(picked)];
    });
    const p = pred.dataSync();
    for (let i = 0; i < b.batch; i++) if (p[i] === b.labels[i]) correct++;
    nllSum += nll.dataSync()[0];
    count += b.batch;
    pred.dispose();
    nll.dispose();
  }
  if (count === 0) throw new Error('evaluateAccuracy: no batches to evaluate');
  return { accuracy: correct / count, loss: nllSum / count, count };
}

/** Perplexity of next-token prediction over batches (honouring a `lossMask`), with the given aux. */
export function evaluatePerplexity(model: GptModel, batches: Iterable<LmTokenBatch>, opts: EvalOptions = {}): PerplexityResult {
  let nllSum = 0;
  let tokens = 0;
  for (const b of batches) {
    const sum = tf.tidy(() => {
      const r = lmNllSum(forward(model, b, { head: 'lm', inject: opts.inject, deltas: opts.deltas }), b);
      tokens += r.count;
      return r.sum;
    });
    nllSum += sum.dataSync()[0];
    sum.dispose();
  }
  if (tokens === 0) throw new Error('evaluatePerplexity: the batches hold no next-token target');
  const nll = nllSum / tokens;
  return { perplexity: Math.exp(nll), nll, tokens };
}
