import type { Tokenizer } from '../tokenizer/tokenizer';
import { batchLength, padRows, planBatches, requireInt, rowOrder } from './batch-plan';
import { classificationBatches, type ClassificationBatchOptions } from './classification-batches';
import type { BatchIterable, ClassificationBatch } from './token-batch';

/**
 * Default cap on windows per input: 8 windows of the 128-token context cover 1,024 bytes, the
 * whole of most passages and e-mails, at a bounded cost (a row costs as many forward passes as it
 * has windows).
 */
export const DEFAULT_MAX_WINDOWS = 8;

/**
 * A classification batch whose rows are windows of the inputs: `labels` has one entry per input
 * (`examples` of them) and `windowOf[r]` names the input (0..examples-1) that row r belongs to.
 * The model pools the class logits of an input's windows (their mean) before the loss or argmax.
 */
export interface WindowedClassificationBatch extends ClassificationBatch {
  /** Input of each row (window), in [0, examples); `batch` entries. */
  windowOf: Int32Array;
  /** Inputs in the batch: the length of `labels` and `indices`. */
  examples: number;
}

/** Options of {@link windowedClassificationBatches}: `batchSize` counts inputs, not windows. */
export interface WindowedBatchOptions extends ClassificationBatchOptions {
  /** At most this many windows per input; tokens beyond them are dropped (and counted by {@link windowCoverage}). */
  maxWindows: number;
}

/**
 * Splits a token sequence into consecutive windows of at most `maxLength` tokens that cover it
 * from the start, at most `maxWindows` of them.
 */
export function splitWindows(ids: readonly number[], maxLength: number, maxWindows: number): number[][] {
  const out: number[][] = [];
  for (let at = 0; at < ids.length && out.length < maxWindows; at += maxLength) out.push(ids.slice(at, at + maxLength));
  return out;
}

/** How much of the inputs the windows cover: tokens in total, tokens dropped, and their share. */
export interface WindowCoverage {
  tokens: number;
  dropped: number;
  /** dropped / tokens, 0 when nothing is cut. */
  droppedShare: number;
}

/** Counts the tokens that windows of `maxLength` x `maxWindows` (1 window = plain truncation) leave out. */
export function windowCoverage(texts: readonly string[], tok: Tokenizer, maxLength: number, maxWindows: number): WindowCoverage {
  let tokens = 0;
  let dropped = 0;
  for (const t of texts) {
    const n = tok.encode(t).length;
    tokens += n;
    dropped += Math.max(0, n - maxLength * maxWindows);
  }
  return { tokens, dropped, droppedShare: tokens ? dropped / tokens : 0 };
}

/**
 * Classification batches that use the whole input: each text is split into windows of
 * `maxLength` tokens (at most `maxWindows`), every window is one row, and `windowOf` ties rows to
 * inputs. An input that fits in one window gives exactly the row {@link classificationBatches}
 * gives it, so pooling is then the identity.
 */
export function windowedClassificationBatches(
  rows: readonly { text: string; label: string | number }[],
  tok: Tokenizer,
  opts: WindowedBatchOptions,
): BatchIterable<WindowedClassificationBatch> {
  const fn = 'windowedClassificationBatches';
  requireInt(fn, 'maxWindows', opts.maxWindows, 1);
  // Validates options and labels exactly as the one-window batches do, and gives the class ids.
  const plain = classificationBatches(rows, tok, { ...opts, shuffleSeed: undefined, batchSize: Math.max(1, rows.length) });
  const targets = new Int32Array(rows.length);
  for (const b of plain) b.indices.forEach((row, k) => (targets[row] = b.labels[k]!));
  return planBatches(rowOrder(rows.length, opts), opts, (picked) => {
    const windows: number[][] = [];
    const windowOf: number[] = [];
    picked.forEach((i, k) => {
      const text = (rows[i] as { text: string }).text;
      const ids = tok.encode(text.slice(0, opts.maxLength * opts.maxWindows + 1)).slice(0, opts.maxLength * opts.maxWindows);
      for (const w of splitWindows(ids, opts.maxLength, opts.maxWindows)) {
        windows.push(w);
        windowOf.push(k);
      }
    });
    const seqLen = batchLength(windows, opts);
    return {
      ...padRows(windows, seqLen, tok.padId),
      batch: windows.length,
      seqLen,
      labels: Int32Array.from(picked, (i) => targets[i]!),
      indices: Int32Array.from(picked),
      windowOf: Int32Array.from(windowOf),
      examples: picked.length,
    };
  });
}
