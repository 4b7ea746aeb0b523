import type { Tokenizer } from '../tokenizer/tokenizer';
import { batchLength, checkPaddedOptions, padRows, planBatches, rowOrder } from './batch-plan';
import type { BatchIterable, ClassificationBatch, PaddedBatchOptions } from './token-batch';

/** Options for {@link classificationBatches}. */
export interface ClassificationBatchOptions extends PaddedBatchOptions {
  /** The class list; a row's class id is the index of its label here (e.g. parseJsonl's sorted labels). */
  labels: readonly (string | number)[];
}

/**
 * Prefix of `text` of at most `maxLength` tokens. Only the first maxLength + 1 UTF-16 units are
 * encoded: each unit is at least one byte, so the kept bytes are the same as for the whole text,
 * and a long e-mail is not encoded in full just to be cut. (The +1 keeps a surrogate pair cut by
 * the slice beyond the kept bytes.)
 */
export function truncatedIds(tok: Tokenizer, text: string, maxLength: number): number[] {
  return tok.encode(text.slice(0, maxLength + 1)).slice(0, maxLength);
}

/**
 * Token batches for sequence classification. Each text is truncated to its first `maxLength`
 * tokens (the Subject and opening of an e-mail carry the signal) and right-padded with padId.
 * No special token is added: the model pools the last real token.
 *
 * @throws RangeError up front for bad options, a label missing from `labels`, or an empty text.
 */
export function classificationBatches(
  rows: readonly { text: string; label: string | number }[],
  tok: Tokenizer,
  opts: ClassificationBatchOptions,
): BatchIterable<ClassificationBatch> {
  const fn = 'classificationBatches';
  checkPaddedOptions(fn, opts, 1);
  if (opts.labels.length === 0) throw new RangeError(`${fn}: labels is empty; pass the class list, e.g. dataset.labels`);
  const classId = new Map<string | number, number>();
  opts.labels.forEach((label, i) => {
    if (classId.has(label)) throw new RangeError(`${fn}: label ${JSON.stringify(label)} appears twice in labels`);
    classId.set(label, i);
  });
  const targets = rows.map((row, i) => {
    const id = classId.get(row.label);
    if (id === undefined) {
      throw new RangeError(`${fn}: row ${i} has label ${JSON.stringify(row.label)}, which is not in labels ${JSON.stringify(opts.labels)}`);
    }
    if (row.text.length === 0) throw new RangeError(`${fn}: row ${i} has an empty text; a row needs at least one token`);
    return id;
  });

  return planBatches(rowOrder(rows.length, opts), opts, (picked) => {
    const tokens = picked.map((i) => truncatedIds(tok, (rows[i] as { text: string }).text, opts.maxLength));
    const seqLen = batchLength(tokens, opts);
    return {
      ...padRows(tokens, seqLen, tok.padId),
      batch: picked.length,
      seqLen,
      labels: Int32Array.from(picked, (i) => targets[i] as number),
      indices: Int32Array.from(picked),
    };
  });
}
