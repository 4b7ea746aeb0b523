import type { tf } from '@cola/gl';
import { classificationLoss, forward, lmLoss, poolWindows, type ForwardOptions, type GptModel } from '@cola/model';
import type { TaskBatch } from './task-data';

/**
 * The real training loss of a batch, with the given injection or deltas: mean cross-entropy of
 * the classifier (cls) or mean next-token cross-entropy (lm). Used by back-propagation (LoRA) and
 * by evaluation; the ColA host step computes the same loss inside `hostStep`.
 */
export function taskLoss(model: GptModel, batch: TaskBatch, opts: Omit<ForwardOptions, 'head'>): tf.Scalar {
  if (batch.labels) return classificationLoss(classLogits(model, batch, opts), batch.labels);
  return lmLoss(forward(model, batch, { ...opts, head: 'lm' }), batch);
}

/** Real (non-padding) tokens in a batch: the unit of the tokens-per-second figures. */
export function realTokens(batch: TaskBatch): number {
  let n = 0;
  for (let i = 0; i < batch.mask.length; i++) n += batch.mask[i]!;
  return n;
}

/** Class logits per input [examples, C]: the model's, mean-pooled over each input's windows when the batch is windowed. */
export function classLogits(model: GptModel, batch: TaskBatch, opts: Omit<ForwardOptions, 'head'>): tf.Tensor2D {
  const logits = forward(model, batch, { ...opts, head: 'cls' });
  if (!batch.windowOf || !batch.labels) return logits;
  return poolWindows(logits, batch.windowOf, batch.labels.length);
}
