/** The perplexity of a unigram (token-frequency) model, the floor a language model must beat. */
export interface UnigramResult {
  /** Mean NLL (nats) of the scored targets. */
  nll: number;
  /** exp(nll). */
  perplexity: number;
  /** Number of scored targets. */
  tokens: number;
}

/**
 * Fits token frequencies on `train` (add-one smoothing, so no held-out token has probability 0)
 * and scores exactly the targets the LM is scored on: positions 1..T-1 of every window (position
 * 0 has no context in the LM evaluation, so it is not a target there either).
 */
export function unigramBaseline(train: Uint16Array, windows: readonly Uint16Array[], vocabSize: number): UnigramResult {
  const counts = new Float64Array(vocabSize).fill(1);
  for (const id of train) counts[id]++;
  const total = train.length + vocabSize;
  const logp = Array.from(counts, (c) => Math.log(c / total));
  let nllSum = 0;
  let tokens = 0;
  for (const w of windows) {
    for (let t = 1; t < w.length; t++) {
      nllSum -= logp[w[t]];
      tokens++;
    }
  }
  const nll = nllSum / tokens;
  return { nll, perplexity: Math.exp(nll), tokens };
}
