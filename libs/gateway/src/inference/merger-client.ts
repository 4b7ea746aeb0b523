import { Inject, Injectable } from '@nestjs/common';
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import type {
  ClassifyRequest,
  ClassifyResponse,
  GenerateRequest,
  GenerateResponse,
  GenerateStreamResponse,
  InferenceClient,
  StatusResponse,
} from '@cola/proto';
import { ApiError } from '../errors/api-error';
import type { ResolvedGatewayOptions } from '../core/gateway-options';
import { GATEWAY_OPTIONS, INFERENCE_CLIENT } from '../core/tokens';

type Unary<Req, Res> = (req: Req, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown;

/**
 * The merger's gRPC Inference service with deadlines, and its failures as API errors: the merger
 * being down is a 503, too slow a 504, a model it does not serve (yet) a 409, its own refusals a
 * 400, anything else a 502. gRPC details are passed on only for client errors.
 */
@Injectable()
export class MergerClient {
  constructor(
    @Inject(INFERENCE_CLIENT) private readonly client: InferenceClient,
    @Inject(GATEWAY_OPTIONS) private readonly options: ResolvedGatewayOptions,
  ) {}

  classify(req: ClassifyRequest): Promise<ClassifyResponse> {
    return this.call<ClassifyRequest, ClassifyResponse>(
      this.client.classify.bind(this.client) as Unary<ClassifyRequest, ClassifyResponse>,
      req,
      this.options.inferenceTimeoutMs,
    );
  }

  generate(req: GenerateRequest): Promise<GenerateResponse> {
    return this.call<GenerateRequest, GenerateResponse>(
      this.client.generate.bind(this.client) as Unary<GenerateRequest, GenerateResponse>,
      req,
      this.options.inferenceTimeoutMs,
    );
  }

  /**
   * GenerateStream: the merger's messages as they arrive (the first says the request was accepted,
   * then one per token), under the same deadline as a whole Generate. Its failures are the same API
   * errors, thrown by the iteration. Aborting `signal`, or leaving the iteration early, cancels the
   * call, which stops the generation on the merger.
   */
  async *generateStream(req: GenerateRequest, signal: AbortSignal): AsyncGenerator<GenerateStreamResponse, void, undefined> {
    const call = this.client.generateStream(req, new Metadata(), { deadline: Date.now() + this.options.inferenceTimeoutMs });
    const cancel = (): void => call.cancel();
    if (signal.aborted) cancel();
    else signal.addEventListener('abort', cancel, { once: true });
    try {
      for await (const m of call) yield m as GenerateStreamResponse;
    } catch (e) {
      throw isServiceError(e) ? toApiError(e) : e;
    } finally {
      signal.removeEventListener('abort', cancel);
      // A no-op once the call ended; otherwise the caller stopped reading and the merger should stop too.
      call.cancel();
    }
  }

  /** The served models; `timeoutMs` defaults to the inference deadline. */
  status(timeoutMs = this.options.inferenceTimeoutMs): Promise<StatusResponse> {
    return this.call<object, StatusResponse>(this.client.status.bind(this.client) as Unary<object, StatusResponse>, {}, timeoutMs);
  }

  private call<Req, Res>(fn: Unary<Req, Res>, req: Req, timeoutMs: number): Promise<Res> {
    return new Promise((resolve, reject) => {
      fn(req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(toApiError(err)) : resolve(res)));
    });
  }
}

function isServiceError(e: unknown): e is ServiceError {
  return e instanceof Error && typeof (e as Partial<ServiceError>).code === 'number' && 'details' in e;
}

function toApiError(err: ServiceError): ApiError {
  switch (err.code) {
    case GrpcStatus.UNAVAILABLE:
      return new ApiError(503, 'inference_unavailable', 'The inference service (merger) is unavailable; retry shortly');
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new ApiError(504, 'inference_timeout', 'The inference service did not answer in time; retry with fewer inputs or later');
    case GrpcStatus.NOT_FOUND:
      // The gateway checked the model is the tenant's: the merger not knowing it means not yet.
      return new ApiError(
        409,
        'model_not_ready',
        `The model is not served yet (${err.details}); retry once the merger has loaded it`,
        'model',
      );
    case GrpcStatus.FAILED_PRECONDITION:
      // e.g. Classify on a causal language model: the merger's message says what to use instead.
      return new ApiError(400, 'unsupported_for_model', `The model cannot answer this request: ${err.details}`, 'model');
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.OUT_OF_RANGE:
      return new ApiError(400, 'invalid_request', `The inference service refused the request: ${err.details}`);
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new ApiError(429, 'inference_overloaded', 'The inference service is overloaded; retry shortly', null, { 'Retry-After': '1' });
    default:
      return new ApiError(502, 'inference_error', 'The inference service failed to answer');
  }
}
