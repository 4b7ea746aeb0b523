import type { AdapterSet } from '@cola/gl';
import type { GptModel } from '@cola/model';
import { evaluate, type EvalResult, type TaskBatch } from '@cola/train';
import type { BatchIterable } from '@cola/data';

/** Options of {@link evaluateInChunks}. */
export interface ChunkedEvaluationOptions {
  /** The job's adapters (a final aux version, params only). */
  adapters: AdapterSet;
  /** Apply them merged (W + dW), as the job trained. */
  merged: boolean;
  /** Batches evaluated before yielding to the event loop. */
  chunk: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `evaluate` of @cola/train (the single-process run's final evaluation) over a job's validation
 * batches, a few batches at a time with a yield in between: evaluation is synchronous compute, and
 * a long block would starve BullMQ's lock renewal and every other job of the host. The chunks'
 * results combine exactly for accuracy and up to float64 rounding for perplexity.
 */
export async function evaluateInChunks(
  model: GptModel,
  batches: BatchIterable<TaskBatch>,
  opts: ChunkedEvaluationOptions,
): Promise<EvalResult> {
  let metric: EvalResult['metric'] | undefined;
  let count = 0;
  let sum = 0; // correct predictions, or summed NLL
  let chunk: TaskBatch[] = [];
  const flush = (): void => {
    if (chunk.length === 0) return;
    const list = chunk;
    const r = evaluate(
      model,
      { numBatches: list.length, [Symbol.iterator]: () => list[Symbol.iterator]() },
      { adapters: opts.adapters, merged: opts.merged },
    );
    metric = r.metric;
    if (r.count > 0) sum += r.metric === 'accuracy' ? Math.round(r.value * r.count) : Math.log(r.value) * r.count;
    count += r.count;
    chunk = [];
  };
  for (const b of batches) {
    chunk.push(b);
    if (chunk.length >= opts.chunk) {
      flush();
      await yieldToEventLoop();
    }
  }
  flush();
  if (metric === 'accuracy' || metric === undefined) return { metric: metric ?? 'accuracy', value: count ? sum / count : 0, count };
  return { metric, value: count ? Math.exp(sum / count) : Infinity, count };
}
