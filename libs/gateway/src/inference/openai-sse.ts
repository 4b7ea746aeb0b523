import { once } from 'node:events';
import type { Response } from 'express';
import { REQUEST_ID_HEADER } from '../common/request-id';
import { toApiError } from '../errors/to-api-error';

/**
 * Relays chunks in OpenAI's streaming format as they come: a `text/event-stream` response with
 * every chunk as `data: <json>\n\n`, then `data: [DONE]\n\n`. Call it once the request has been
 * checked and accepted, so every error before it is still a JSON error with its status.
 *
 * Each chunk is written as soon as it is produced (waiting while the client's connection is full).
 * If the client goes away, the relay stops reading `chunks` (whose producer stops the
 * generation). An error while streaming is sent as a last `data: {"error": {...}}` event without
 * `[DONE]` (the OpenAI SDKs throw it as an API error) and then rethrown, so it is logged like any
 * other failure and the response is ended.
 */
export async function relayOpenAiStream(res: Response, chunks: AsyncIterable<object>): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  try {
    for await (const c of chunks) if (!(await write(res, `data: ${JSON.stringify(c)}\n\n`))) return;
  } catch (e) {
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify(toApiError(e, res.getHeader(REQUEST_ID_HEADER)?.toString()).toBody())}\n\n`);
    throw e;
  }
  res.end('data: [DONE]\n\n');
}

/** Writes one event; false when the client is gone. */
async function write(res: Response, event: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (!res.write(event)) {
    const ac = new AbortController();
    await Promise.race([once(res, 'drain', { signal: ac.signal }), once(res, 'close', { signal: ac.signal })]).catch(() => undefined);
    ac.abort();
  }
  return !res.destroyed;
}

/**
 * An AbortSignal that aborts when the client disconnects before the response is complete: passed
 * down to the merger call, it stops a generation nobody will read.
 */
export function clientGone(res: Response): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  return ac.signal;
}
