import type { UsageDto } from './dto/sampling.dto';

/** Why an answer ended, as OpenAI says it. */
export type FinishReason = 'stop' | 'length';

/**
 * An answer the merger accepted and is generating: what every OpenAI chunk repeats, the text in
 * pieces as the merger decodes it, and, once the pieces ran out, why it ended and the tokens used.
 * Leaving the iteration of `pieces` early cancels the generation.
 */
export interface AnswerStream {
  id: string;
  created: number;
  model: string;
  /** Aux version of the weights that generate the answer. */
  model_version: number;
  /** The answer's text in pieces; never an empty piece. */
  pieces: AsyncIterable<string>;
  /** Valid once `pieces` is exhausted. */
  finish(): { finish_reason: FinishReason; usage: UsageDto };
}

/** Reads an answer to its end: its whole text, why it ended and its usage. */
export async function collectAnswer(a: AnswerStream): Promise<{ text: string; finish_reason: FinishReason; usage: UsageDto }> {
  let text = '';
  for await (const piece of a.pieces) text += piece;
  return { text, ...a.finish() };
}
