/**
 * What batching and the model need from a tokenizer. The byte tokenizer is the only
 * implementation today; the interface keeps a later subword tokenizer a drop-in change.
 */
export interface Tokenizer {
  /** Number of distinct ids, including the special tokens; the embedding table has this many rows. */
  readonly vocabSize: number;
  /** Id used to right-pad rows of a batch; never a real token, always masked out. */
  readonly padId: number;
  /** End-of-sequence id, also used as the separator between packed documents. */
  readonly eosId: number;
  /** Text to ids, without any special token. */
  encode(text: string): number[];
  /** Ids back to text; special ids are skipped. */
  decode(ids: ArrayLike<number>): string;
}
