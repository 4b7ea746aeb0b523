/**
 * Thrown when bytes received over the wire (a queue payload, a Redis blob, a gRPC message) are not a
 * valid cola.v1 message: truncated, corrupt, or inconsistent with their own shapes and dtypes.
 * Consumers fail the job with `message` as the reason instead of crashing or applying garbage.
 */
export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
