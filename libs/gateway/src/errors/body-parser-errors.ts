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
    else if (type === 'encoding.unsupported' || type === 'charset.unsupported')
      api = new ApiError(415, 'unsupported_media_type', `Unsupported body encoding: ${(err as Error).message}; send UTF-8 JSON`);
    else if (typeof type === 'string') api = new ApiError(400, 'invalid_request', 'The request body could not be read');
    if (!api) {
      next(err);
      return;
    }
    res.status(api.status).json(api.toBody());
  };
}
