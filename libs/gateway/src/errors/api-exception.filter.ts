import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { REQUEST_ID_HEADER } from '../common/request-id';
import { toApiError } from './to-api-error';

/**
 * The one exception filter: every error leaves as `{"error": {"code", "message", "param"}}` with
 * its status, never with a stack trace. Server-side failures are logged with their stack.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const requestId = res.getHeader(REQUEST_ID_HEADER)?.toString();
    const err = toApiError(exception, requestId);
    if (err.status >= 500) {
      this.logger.error(
        `${req.method} ${req.originalUrl} failed (request id ${requestId ?? '-'}): ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
      );
    }
    // A stream (SSE, a download) that already started cannot change its status: just end it.
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(err.status).set(err.headers).json(err.toBody());
  }
}
