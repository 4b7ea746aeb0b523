import type { AdapterSet } from '@cola/gl';
import { rowChunks, sliceBatch, type GptModel } from '@cola/model';
import { evaluate, type EvalResult, type TaskBatch } from '@cola/train';
import type { BatchIterable } from '@cola/data';

/** Options of {@link evaluateInChunks}. */
export interface ChunkedEvaluationOptions {
  /** The job's adapters (a final aux version, params only). */
  adapters: AdapterSet;
  /** Apply them merged (W + dW), as the job trained. */
  merged: boolean;
  /**
   * Rows evaluated between two yields to the event loop: a batch with more rows is cut in row
   * chunks of this size (whole inputs when rows are windows), smaller batches are grouped up to it.
   */
  rowsPerYield: number;
  /**
   * Most rows one forward pass may take (the gpu-host's memory budget): a larger batch is
   * evaluated in row chunks (whole inputs when rows are windows). Default: whole batches.
   */
  maxRows?: number;
  /**
   * Puts on the model what this evaluation needs (the job's classifier head), before each piece:
   * while the evaluation yields, other work of the host (a step, another evaluation) may install another.
   */
  prepare?: () => void;
}

/** A batch's rows [start, end) as a batch of its own, with its labels and windows (views). */
function rowsOf(batch: TaskBatch, start: number, end: number): TaskBatch {
  const out: TaskBatch = sliceBatch(batch, start, end);
  if (!batch.labels) return out;
  const w = batch.windowOf;
  const first = w ? w[start]! : start;
  const last = w ? w[end - 1]! + 1 : end;
  out.labels = batch.labels.subarray(first, last);
  if (w) out.windowOf = w.slice(start, end).map((e) => e - first);
  return out;
}

/** The batches, each cut in row chunks of at most `maxRows`. */
function* inRowChunks(batches: Iterable<TaskBatch>, maxRows: number | undefined): Generator<TaskBatch> {
  for (const b of batches) {
    if (maxRows === undefined || b.batch <= maxRows) yield b;
    else for (const [start, end] of rowChunks(b.batch, maxRows, b.windowOf)) yield rowsOf(b, start, end);
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `evaluate` of @cola/train (the single-process run's final evaluation) over a job's validation
 * batches, a few rows at a time with a yield in between: evaluation is synchronous compute, and
 * a long block would starve BullMQ's lock renewal and every other job of the host (a "before"
 * score over windowed e-mails once blocked the loop for 110 s on a loaded machine). The chunks'
 * results combine exactly for accuracy and up to float64 rounding for perplexity. A batch larger
 * than the memory budget allows is evaluated in row chunks, which combine the same way.
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
  let rows = 0;
  const flush = (): void => {
    if (chunk.length === 0) return;
    const list = chunk;
    opts.prepare?.();
    const r = evaluate(
      model,
      { numBatches: list.length, [Symbol.iterator]: () => list[Symbol.iterator]() },
      { adapters: opts.adapters, merged: opts.merged },
    );
    metric = r.metric;
    if (r.count > 0) sum += r.metric === 'accuracy' ? Math.round(r.value * r.count) : Math.log(r.value) * r.count;
    count += r.count;
    chunk = [];
    rows = 0;
  };
  const pieceRows = Math.min(opts.maxRows ?? Infinity, opts.rowsPerYield);
  for (const b of inRowChunks(batches, pieceRows)) {
    chunk.push(b);
    rows += b.batch;
    if (rows >= opts.rowsPerYield) {
      flush();
      await yieldToEventLoop();
    }
  }
  flush();
  if (metric === 'accuracy' || metric === undefined) return { metric: metric ?? 'accuracy', value: count ? sum / count : 0, count };
  return { metric, value: count ? Math.exp(sum / count) : Infinity, count };
}
