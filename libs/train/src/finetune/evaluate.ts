import { disposeDeltas, tf, type AdapterSet } from '@cola/gl';
import { forward, lmNllSum, type GptModel } from '@cola/model';
import type { BatchIterable } from '@cola/data';
import type { TaskBatch } from './task-data';
import { classLogits } from './task-loss';

/** The metric of a task: accuracy for classification, per-token perplexity for causal LM. */
export interface EvalResult {
  metric: 'accuracy' | 'perplexity';
  value: number;
  /** Sequences (classification) or target tokens (LM) evaluated. */
  count: number;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** The adapters to apply; none evaluates the base model. */
  adapters?: AdapterSet;
  /** Apply them merged (W + dW) rather than as an added g(X). Same result for mergeable aux. */
  merged?: boolean;
}

/**
 * Evaluates the model (with adapters, if given) over every batch. Nothing is differentiated, so
 * the frozen-weight forward runs: it frees each block's temporaries as it goes.
 */
export function evaluate(model: GptModel, batches: BatchIterable<TaskBatch>, opts: EvaluateOptions = {}): EvalResult {
  const deltas = opts.adapters && opts.merged ? opts.adapters.deltas() : undefined;
  const inject = opts.adapters && !opts.merged ? opts.adapters.inject : undefined;
  try {
    let correct = 0;
    let seen = 0;
    let nll = 0;
    let tokens = 0;
    let isCls = false;
    for (const batch of batches) {
      if (batch.labels) {
        isCls = true;
        const pred = tf.tidy(() => tf.argMax(classLogits(model, batch, { inject, deltas, frozen: true }), -1));
        const p = pred.dataSync();
        pred.dispose();
        const examples = batch.labels.length;
        for (let i = 0; i < examples; i++) if (p[i] === batch.labels[i]) correct++;
        seen += examples;
      } else {
        const { sum, count } = tf.tidy(() => {
          const r = lmNllSum(forward(model, batch, { head: 'lm', inject, deltas, frozen: true }), batch);
          return { sum: tf.keep(r.sum), count: r.count };
        });
        nll += sum.dataSync()[0]!;
        sum.dispose();
        tokens += count;
      }
    }
    if (isCls) return { metric: 'accuracy', value: seen ? correct / seen : 0, count: seen };
    return { metric: 'perplexity', value: tokens ? Math.exp(nll / tokens) : Infinity, count: tokens };
  } finally {
    if (deltas) disposeDeltas(deltas);
  }
}
