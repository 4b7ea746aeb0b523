import type { Response } from 'express';

/** Characters per streamed chunk: small enough to read as a stream, large enough not to flood. */
const CHUNK_CHARS = 4;

/** The text in pieces of whole characters (never a split UTF-8 sequence or surrogate pair). */
export function textPieces(text: string, size = CHUNK_CHARS): string[] {
  const chars = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
  return pieces;
}

/**
 * Writes OpenAI's streaming format: every chunk as `data: <json>\n\n`, then `data: [DONE]\n\n`,
 * on a `text/event-stream` response. Call it only once the request has been checked and the answer
 * computed, so every error before it is still a JSON error with its status.
 */
export function sendOpenAiStream(res: Response, chunks: readonly object[]): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('X-Accel-Buffering', 'no');
  for (const c of chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
  res.end('data: [DONE]\n\n');
}

/** The answer as JSON, or with `stream` as its OpenAI stream chunks. */
export function sendAnswer<T extends object>(res: Response, answer: T, stream: boolean, chunks: (a: T) => readonly object[]): void {
  if (stream) sendOpenAiStream(res, chunks(answer));
  else res.status(200).json(answer);
}
