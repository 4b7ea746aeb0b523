import type { Tokenizer } from '../tokenizer/tokenizer';
import { batchLength, checkPaddedOptions, padRows, planBatches, rowOrder } from './batch-plan';
import type { BatchIterable, CompletionBatch, PaddedBatchOptions } from './token-batch';

/** Options for {@link completionBatches}. */
export type CompletionBatchOptions = PaddedBatchOptions;

/**
 * Token ids of one row and how many of them are prompt. The completion ends with eos so the model
 * learns to stop. An empty prompt becomes a lone eos, which is also the document separator in
 * LM packing: the first completion token then has a position to be predicted from.
 *
 * When the row is longer than maxLength the completion keeps its beginning and the prompt keeps
 * its end (the part next to the completion), always at least one prompt token.
 */
function completionRow(tok: Tokenizer, prompt: string, completion: string, maxLength: number): { ids: number[]; promptLength: number } {
  const promptIds = prompt.length > 0 ? tok.encode(prompt) : [tok.eosId];
  const targetIds = [...tok.encode(completion), tok.eosId];
  const keepPrompt = Math.min(promptIds.length, Math.max(1, maxLength - targetIds.length));
  const keepTarget = Math.min(targetIds.length, maxLength - keepPrompt);
  return {
    ids: [...promptIds.slice(promptIds.length - keepPrompt), ...targetIds.slice(0, keepTarget)],
    promptLength: keepPrompt,
  };
}

/**
 * Token batches for prompt/completion fine-tuning: each row is prompt + completion + eos,
 * right-padded, with a `lossMask` that selects only the completion tokens (and the eos) as targets.
 * No separator is inserted between prompt and completion: write it in the data (" A:", "\n").
 */
export function completionBatches(
  rows: readonly { prompt: string; completion: string }[],
  tok: Tokenizer,
  opts: CompletionBatchOptions,
): BatchIterable<CompletionBatch> {
  // maxLength 2 is the least that holds one prompt token and one target.
  checkPaddedOptions('completionBatches', opts, 2);
  return planBatches(rowOrder(rows.length, opts), opts, (picked) => {
    const built = picked.map((i) => {
      const row = rows[i] as { prompt: string; completion: string };
      return completionRow(tok, row.prompt, row.completion, opts.maxLength);
    });
    const tokens = built.map((b) => b.ids);
    const seqLen = batchLength(tokens, opts);
    const lossMask = new Int32Array(picked.length * seqLen);
    built.forEach((b, r) => lossMask.fill(1, r * seqLen + b.promptLength, r * seqLen + b.ids.length));
    return {
      ...padRows(tokens, seqLen, tok.padId),
      batch: picked.length,
      seqLen,
      lossMask,
      indices: Int32Array.from(picked),
    };
  });
}
