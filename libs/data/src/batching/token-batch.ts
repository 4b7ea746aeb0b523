/**
 * A batch of token sequences as plain typed arrays, row-major [batch, seqLen], right-padded.
 * Structurally the same as @cola/model's TokenBatch, so batches from here feed the model as they are.
 */
export interface TokenBatch {
  /** Token ids, `batch * seqLen` entries; pad positions hold the tokenizer's padId. */
  ids: Int32Array;
  /** 1 for a real token, 0 for padding; same layout as `ids`. */
  mask: Int32Array;
  /** Number of rows B. */
  batch: number;
  /** Length T of every (padded) row. */
  seqLen: number;
}

/** A classification batch: one class id per row. */
export interface ClassificationBatch extends TokenBatch {
  /** Class id of each row: the index of its label in the `labels` option. */
  labels: Int32Array;
  /** Index of each row in the input array, to trace predictions back to rows. */
  indices: Int32Array;
}

/** A completion batch: prompt + completion + eos per row, with the loss restricted to the completion. */
export interface CompletionBatch extends TokenBatch {
  /**
   * 1 where the token at [b, t] is a training target (a completion token or the closing eos), else 0;
   * same layout as `ids`. The target at t is predicted from position t-1, so position 0 is never 1,
   * and a model that weights "position t predicts t+1" should use lossMask[t + 1] as the weight of t.
   */
  lossMask: Int32Array;
  /** Index of each row in the input array. */
  indices: Int32Array;
}

/** Batches that can be iterated several times (same order every time) and counted up front. */
export interface BatchIterable<B> extends Iterable<B> {
  /** How many batches one iteration yields, e.g. for a progress bar. */
  readonly numBatches: number;
}

/** Options shared by every batching function. */
export interface BatchOrderOptions {
  /** Rows per batch, a positive integer. The last batch may be smaller unless `dropLast`. */
  batchSize: number;
  /**
   * Shuffle rows with this seed; the same seed and epoch always give the same order. When omitted,
   * rows keep the input order (evaluation).
   */
  shuffleSeed?: number;
  /** Epoch number, mixed into `shuffleSeed` so every epoch sees a new order. Default 0. */
  epoch?: number;
  /** Drop the final batch when it has fewer than `batchSize` rows. Default false. */
  dropLast?: boolean;
}

/** Options of the functions that pad variable-length rows. */
export interface PaddedBatchOptions extends BatchOrderOptions {
  /** Maximum tokens per row; longer rows are truncated (see each function for which end). */
  maxLength: number;
  /**
   * 'longest' pads each batch to its longest row (less compute); 'maxLength' always pads to
   * `maxLength` (one shape for every batch, e.g. to mix tenants' rows). Default 'longest'.
   */
  padTo?: 'longest' | 'maxLength';
}
