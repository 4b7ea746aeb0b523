import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/** Response header carrying the request id (echoed when the client or a proxy sent one). */
export const REQUEST_ID_HEADER = 'x-request-id';

const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Express middleware giving every request an id, so a 500 message can point at the log line that
 * holds the details. An incoming id is kept only when it is short and plain (it ends up in logs).
 */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.header(REQUEST_ID_HEADER);
  res.setHeader(REQUEST_ID_HEADER, incoming && SAFE_ID.test(incoming) ? incoming : randomUUID());
  next();
}
