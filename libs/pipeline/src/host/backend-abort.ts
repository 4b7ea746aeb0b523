/**
 * What the tfjs wasm backend throws once its heap is exhausted or corrupted (Emscripten's
 * `Aborted()`, a trap such as `memory access out of bounds` or `unreachable`). After that every
 * later call fails too: the process must be restarted, not the job failed.
 */
const ABORT = /Aborted\(|memory access out of bounds|RuntimeError: unreachable|^unreachable$/;

/** True when `e` says the compute backend aborted (see {@link BackendAbortedError}). */
export function isBackendAbort(e: unknown): boolean {
  if (e instanceof BackendAbortedError) return true;
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return ABORT.test(text) || (e instanceof Error && ABORT.test(e.message));
}

/**
 * The backend aborted during a host step or an evaluation: the gpu-host stops stepping, hands
 * its jobs back to the queue and exits non-zero so its supervisor restarts it.
 */
export class BackendAbortedError extends Error {
  constructor(cause: unknown) {
    super(`compute backend aborted: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'BackendAbortedError';
  }
}
