import type { NextFunction, Request, Response } from 'express';
import { ApiError } from './api-error';

/**
 * Express error handler placed right after the JSON body parser: body-parser's errors happen
 * before Nest routes the request, so Nest's exception filter never sees them, and Express's
 * default handler would answer HTML (with a stack outside production). This one answers in the
 * API's error shape.
 */
export function bodyParserErrorHandler(maxBytes: number) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    const type = (err as { type?: unknown } | null)?.type;
    let api: ApiError | undefined;
    if (type === 'entity.too.large') api = new ApiError(413, 'request_too_large', `The request body is larger than ${maxBytes} bytes`);
    else if (type === 'entity.parse.failed')
      api = new ApiError(400, 'invalid_json', `The request body is not valid JSON: ${(err as Error).message}`);
    else if (type === 'entity.too.deep') api = new ApiError(400, 'invalid_json', `The request body is refused: ${(err as Error).message}`);
    else if (type === 'encoding.unsupported' || type === 'charset.unsupported')
      api = new ApiError(415, 'unsupported_media_type', `Unsupported body encoding: ${(err as Error).message}; send UTF-8 JSON`);
    else if (isZlibError(err))
      api = new ApiError(
        400,
        'invalid_body_encoding',
        'The request body does not decode as its Content-Encoding says; send the bytes that header names, or drop the header',
      );
    else if (typeof type === 'string') api = new ApiError(400, 'invalid_request', 'The request body could not be read');
    else if (isClientStatus(err)) api = new ApiError(400, 'invalid_request', 'The request body could not be read');
    if (!api) {
      next(err);
      return;
    }
    res.status(api.status).json(api.toBody());
  };
}

/** zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR, ...): a gzip/deflate/br body that is not what its header says. */
function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(Z_|ERR_BROTLI|ERR__ERROR_FORMAT_PADDING)/.test(code);
}

/** body-parser's other client errors (http-errors with a 4xx status). */
function isClientStatus(err: unknown): boolean {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}
