import type { Tokenizer } from '../tokenizer/tokenizer';
import { checkOrderOptions, padRows, planBatches, requireInt, rowOrder } from './batch-plan';
import type { BatchIterable, BatchOrderOptions, TokenBatch } from './token-batch';

/** Options for {@link lmBatches}. */
export interface LmBatchOptions extends BatchOrderOptions {
  /** Tokens per row (window); the model predicts token t+1 from t inside each window. */
  seqLen: number;
}

/**
 * Concatenates the documents into one token stream with eos after each, so the model learns where
 * a text ends. Ids fit in 16 bits (vocab 258), which halves the memory of a corpus-sized stream.
 */
function packStream(texts: readonly string[], tok: Tokenizer): Uint16Array | Int32Array {
  const docs = texts.map((t) => tok.encode(t));
  const total = docs.reduce((n, d) => n + d.length + 1, 0);
  const stream = tok.vocabSize <= 65536 ? new Uint16Array(total) : new Int32Array(total);
  let at = 0;
  for (const doc of docs) {
    stream.set(doc, at);
    at += doc.length;
    stream[at++] = tok.eosId;
  }
  return stream;
}

/**
 * Causal-LM batches: the packed token stream is cut into consecutive, non-overlapping windows of
 * `seqLen` tokens, which are then batched (shuffled when `shuffleSeed` is given). The final partial
 * window is kept, right-padded and masked, so no text is lost.
 *
 * @throws RangeError up front for bad options or an empty list of texts.
 */
export function lmBatches(texts: readonly string[], tok: Tokenizer, opts: LmBatchOptions): BatchIterable<TokenBatch> {
  const fn = 'lmBatches';
  checkOrderOptions(fn, opts);
  requireInt(fn, 'seqLen', opts.seqLen, 2);
  if (texts.length === 0) throw new RangeError(`${fn}: texts is empty; pass at least one document`);
  const stream = packStream(texts, tok);
  const { seqLen } = opts;
  const numWindows = Math.ceil(stream.length / seqLen);
  return planBatches(rowOrder(numWindows, opts), opts, (picked) => {
    const windows = picked.map((w) => stream.subarray(w * seqLen, Math.min((w + 1) * seqLen, stream.length)));
    return { ...padRows(windows, seqLen, tok.padId), batch: picked.length, seqLen };
  });
}
