import { tf } from '@cola/gl';
import { nextTokenTargets, type LmTokenBatch } from '../forward/losses';
import type { GptModel } from '../weights/gpt-model';
import { hostStep, type HostStepOptions, type HostStepResult, type TapAdaptation } from './host-step';

/** Options of {@link chunkedHostStep}: those of `hostStep` without groups, plus the chunk size. */
export interface ChunkedHostStepOptions extends Omit<HostStepOptions, 'groups' | 'lossDivisor'> {
  /**
   * Most batch rows (sequences) per chunk, >= 1. The activation memory of a host step grows with
   * its rows; the gpu-host derives this from its memory budget. A function is asked again before
   * each chunk, so the X and G the earlier chunks returned count as used.
   */
  maxRows: number | (() => number);
}

/** Rows [start, end) of a batch as a batch of their own (views, no copy). */
export function sliceBatch(batch: LmTokenBatch, start: number, end: number): LmTokenBatch {
  const T = batch.seqLen;
  const out: LmTokenBatch = {
    ids: batch.ids.subarray(start * T, end * T),
    mask: batch.mask.subarray(start * T, end * T),
    batch: end - start,
    seqLen: T,
  };
  if (batch.lossMask) out.lossMask = batch.lossMask.subarray(start * T, end * T);
  return out;
}

/**
 * The host step of a batch run as a sequence of row chunks, with the same result as one pass.
 *
 * The base model is frozen and no op mixes sequences, so a row's X and G depend on that row
 * alone, except through the loss's normaliser. Each chunk is therefore run with the loss summed
 * over its rows and divided by the count of the WHOLE batch (its rows for 'cls', its next-token
 * targets for 'lm'): its G is exactly the whole batch's G on those rows, and the chunks' losses
 * add up to the batch's mean loss. X and G are concatenated back in row order (a consumer that
 * wants XᵀG may equally sum the chunks' products). Peak memory is that of one chunk.
 *
 * A batch of at most `maxRows` rows runs as one plain `hostStep`. With `windowOf` (windows of
 * longer inputs), chunks hold whole inputs and the divisor is the number of inputs.
 */
export function chunkedHostStep(model: GptModel, batch: LmTokenBatch, opts: ChunkedHostStepOptions): HostStepResult {
  const { maxRows: rowsOpt, ...step } = opts;
  const rowsNow = (): number => {
    const n = typeof rowsOpt === 'function' ? rowsOpt() : rowsOpt;
    if (!Number.isInteger(n) || n < 1) throw new Error(`chunkedHostStep: maxRows must be an integer >= 1, got ${n}`);
    return n;
  };
  const maxRows = rowsNow();
  if (batch.batch <= maxRows) return hostStep(model, batch, step);
  const windowOf = step.windowOf;
  // Windows of one input share its pooled loss: a chunk never splits them (they are consecutive).
  if (windowOf && windowOf.some((e, r) => r > 0 && e < windowOf[r - 1]!)) return hostStep(model, batch, step);
  const divisor = step.head === 'cls' ? (step.labels?.length ?? batch.batch) : nextTokenTargets(batch).count;
  if (divisor === 0) throw new Error('chunkedHostStep: the batch has no next-token target (every row needs at least 2 real tokens)');
  const pieces = new Map<string, { x: tf.Tensor2D[]; g: tf.Tensor2D[] }>(step.taps.map((t) => [t, { x: [], g: [] }]));
  let loss = 0;
  const timings = { forwardMs: 0, backwardMs: 0 };
  try {
    for (let start = 0; start < batch.batch;) {
      const end = chunkEnd(start, start === 0 ? maxRows : rowsNow(), batch.batch, windowOf);
      const first = windowOf ? windowOf[start]! : start;
      const last = windowOf ? windowOf[end - 1]! + 1 : end;
      const labels = step.labels?.subarray(first, last);
      const chunkWindows = windowOf?.slice(start, end).map((e) => e - first);
      const r = hostStep(model, sliceBatch(batch, start, end), { ...step, labels, windowOf: chunkWindows, lossDivisor: divisor });
      start = end;
      loss += r.loss;
      timings.forwardMs += r.timings.forwardMs;
      timings.backwardMs += r.timings.backwardMs;
      for (const [tap, { x, g }] of r.taps) {
        pieces.get(tap)!.x.push(x);
        pieces.get(tap)!.g.push(g);
      }
    }
    const taps = new Map<string, TapAdaptation>();
    for (const [tap, p] of pieces) taps.set(tap, { x: tf.concat(p.x, 0), g: tf.concat(p.g, 0) });
    return { loss, taps, timings };
  } finally {
    for (const p of pieces.values()) tf.dispose([...p.x, ...p.g]);
  }
}

/**
 * Row chunks [start, end) of a batch of `rows` rows, at most `maxRows` each, never splitting the
 * windows of one input (`windowOf`, consecutive); an input with more windows than `maxRows` is one chunk.
 */
export function rowChunks(rows: number, maxRows: number, windowOf?: Int32Array): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < rows;) {
    const end = chunkEnd(start, maxRows, rows, windowOf);
    out.push([start, end]);
    start = end;
  }
  return out;
}

/**
 * End of the chunk starting at row `start`: at most `maxRows` rows, cut only between inputs when
 * rows are windows (`windowOf`); an input with more windows than `maxRows` is one chunk.
 */
function chunkEnd(start: number, maxRows: number, rows: number, windowOf: Int32Array | undefined): number {
  let end = Math.min(rows, start + maxRows);
  if (!windowOf || end === rows) return end;
  while (end > start && windowOf[end] === windowOf[end - 1]) end--;
  if (end > start) return end;
  end = start + 1;
  while (end < rows && windowOf[end] === windowOf[start]) end++;
  return end;
}
