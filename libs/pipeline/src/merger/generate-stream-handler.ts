import { once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { status as GrpcStatus, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import type { GenerateRequest, GenerateStreamResponse } from '@cola/proto';
import { streamCompletion } from './inference';
import { InferenceError } from './inference-error';
import type { InferenceHandlerDeps } from './inference-handlers';

type Call = ServerWritableStream<GenerateRequest, GenerateStreamResponse>;

/**
 * The GenerateStream handler: checks the request and leases the model, sends a first message
 * (accepted: model and version, no text), then one message per generated token as it is decoded.
 * The generation stops as soon as the caller cancels (or its deadline passes): between two tokens
 * the handler yields to the event loop, so a cancellation, and other calls, are seen at once.
 * Errors end the call with a status: a caller's mistake with its message, anything else INTERNAL
 * without internals. Latency is recorded as `cola_inference_seconds{method="GenerateStream"}`
 * with outcome ok, rejected, cancelled or error.
 */
export function generateStreamHandler(deps: InferenceHandlerDeps): (call: Call) => void {
  return (call) => {
    const t0 = performance.now();
    void stream(deps, call).then(
      (outcome) => deps.metrics?.observeMs('inferenceSeconds', performance.now() - t0, { method: 'GenerateStream', outcome }),
      // stream() catches its own errors; this is only reached if reporting one failed.
      (e: unknown) => deps.log('error', 'GenerateStream failed to report an error', { error: String(e) }),
    );
  };
}

async function stream(deps: InferenceHandlerDeps, call: Call): Promise<string> {
  const req = call.request;
  let lease: Awaited<ReturnType<InferenceHandlerDeps['models']['acquire']>> | undefined;
  try {
    lease = await deps.models.acquire(req.model);
    const pieces = streamCompletion(
      lease.loaded,
      req.prompt,
      { maxNewTokens: req.maxNewTokens, temperature: req.temperature, seed: req.seed },
      deps.limits,
    );
    const head = { model: req.model, version: lease.loaded.version };
    if (!(await send(call, { ...head, text: '', completionTokens: 0 }))) return 'cancelled';
    // Leaving this loop early closes `pieces`, which stops the generation.
    for (const p of pieces) if (!(await send(call, { ...head, text: p.text, completionTokens: p.tokens }))) return 'cancelled';
    call.end();
    return 'ok';
  } catch (e) {
    if (call.cancelled) return 'cancelled';
    if (e instanceof InferenceError) {
      call.emit('error', { code: e.grpcCode, details: e.message } satisfies Partial<ServiceError>);
      return 'rejected';
    }
    deps.log('error', 'GenerateStream failed', { error: (e as Error).stack ?? String(e) });
    call.emit('error', {
      code: GrpcStatus.INTERNAL,
      details: 'GenerateStream failed on the merger; see its logs',
    } satisfies Partial<ServiceError>);
    return 'error';
  } finally {
    lease?.release();
  }
}

/**
 * Writes one message, waits while the transport is full, and yields one event-loop turn so a
 * cancellation is seen before the next token is computed. False once the call is cancelled.
 */
async function send(call: Call, msg: GenerateStreamResponse): Promise<boolean> {
  if (call.cancelled) return false;
  if (!call.write(msg)) {
    const ac = new AbortController();
    const until = (event: string): Promise<unknown> => once(call, event, { signal: ac.signal });
    await Promise.race([until('drain'), until('cancelled'), until('close')]).catch(() => undefined);
    ac.abort();
  }
  await nextTurn();
  return !call.cancelled;
}
