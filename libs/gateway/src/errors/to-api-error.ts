import { HttpException } from '@nestjs/common';
import { ApiError } from './api-error';

/** Codes of Nest's own HttpExceptions (unknown routes, multer, ...), by status. */
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'request_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'rate_limit_exceeded',
  501: 'not_implemented',
  503: 'service_unavailable',
};

/** Message of a Nest HttpException: its own text, never its stack or internal response object. */
function httpMessage(e: HttpException): string {
  const r = e.getResponse();
  if (typeof r === 'string') return r;
  if (r && typeof r === 'object' && 'message' in r) {
    const m = (r as { message: unknown }).message;
    if (typeof m === 'string') return m;
    if (Array.isArray(m)) return m.map(String).join('; ');
  }
  return e.message;
}

/**
 * True for ioredis failing to reach Redis (as opposed to a command error): the client gave up
 * retrying, or the connection is down. That is a 503 the client may retry, not a 500.
 */
function isRedisUnavailable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return e.name === 'MaxRetriesPerRequestError' || /^(Connection is closed|Stream isn't writeable|connect ECONNREFUSED)/.test(e.message);
}

/**
 * Maps anything thrown while serving a request to an {@link ApiError}. Unknown errors become a
 * generic 500 whose message carries the request id and nothing about the internals: the details
 * (and the stack) go to the log only.
 */
export function toApiError(e: unknown, requestId?: string): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof HttpException) {
    const status = e.getStatus();
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'internal_error' : 'invalid_request');
    return new ApiError(status, code, status >= 500 ? 'The server failed to process the request' : httpMessage(e));
  }
  if (isRedisUnavailable(e)) return new ApiError(503, 'storage_unavailable', 'The platform storage (Redis) is unavailable; retry shortly');
  const ref = requestId ? ` (request id ${requestId})` : '';
  return new ApiError(
    500,
    'internal_error',
    `The server failed to process the request${ref}; it has been logged. Retry later, or report the request id.`,
  );
}
