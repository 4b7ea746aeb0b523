import { status as GrpcStatus } from '@grpc/grpc-js';

/** Why an inference request cannot be answered; each maps to one gRPC status code. */
export type InferenceErrorCode = 'not_found' | 'invalid_argument' | 'failed_precondition' | 'resource_exhausted';

const GRPC_CODES: Readonly<Record<InferenceErrorCode, GrpcStatus>> = {
  not_found: GrpcStatus.NOT_FOUND,
  invalid_argument: GrpcStatus.INVALID_ARGUMENT,
  failed_precondition: GrpcStatus.FAILED_PRECONDITION,
  resource_exhausted: GrpcStatus.RESOURCE_EXHAUSTED,
};

/** A request the caller can fix (unknown model, bad input); never a server fault. */
export class InferenceError extends Error {
  override readonly name = 'InferenceError';
  constructor(
    readonly code: InferenceErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The gRPC status code this error is answered with. */
  get grpcCode(): GrpcStatus {
    return GRPC_CODES[this.code];
  }
}
