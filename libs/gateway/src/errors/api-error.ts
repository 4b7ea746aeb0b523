/**
 * An error the API reports to its caller: the HTTP status and the body
 * `{"error": {"code", "message", "param"}}`. Services throw these; the exception filter renders
 * them (and maps everything else to one of them), so no other error shape ever leaves the gateway.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    /** HTTP status. */
    readonly status: number,
    /** Machine-readable, snake_case, stable across releases (clients switch on it). */
    readonly code: string,
    /** What went wrong and how to fix it; never a stack trace or an internal detail. */
    message: string,
    /** The request field at fault (dotted path, e.g. `hyperparameters.batch_size`), or null. */
    readonly param: string | null = null,
    /** Extra response headers, e.g. `Retry-After` on 429. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  /** The response body. */
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, param: this.param } };
  }
}

/** The one JSON error shape of the API. */
export interface ErrorBody {
  error: { code: string; message: string; param: string | null };
}

/**
 * A resource that does not exist *or belongs to another tenant*: both answer exactly the same, so
 * a tenant cannot probe which ids exist elsewhere.
 */
export function notFound(kind: string, id: string, param: string | null = null): ApiError {
  return new ApiError(404, 'not_found', `No ${kind} with id ${JSON.stringify(id)} exists (or it is not yours)`, param);
}
