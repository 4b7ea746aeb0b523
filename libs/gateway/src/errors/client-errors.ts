import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from './api-error';

/** The API error for an HTTP-level parse failure of Node's server (before any route runs). */
function clientErrorOf(code: string | undefined): ApiError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError(431, 'request_header_fields_too_large', 'The request headers are too large; send fewer or shorter headers');
    case 'HPE_URI_TOO_LONG':
      return new ApiError(414, 'uri_too_long', 'The request URL is too long');
    default:
      return new ApiError(400, 'invalid_http', 'The request is not valid HTTP/1.1');
  }
}

/**
 * Answers Node's HTTP parse errors (oversized headers, malformed requests) in the API's error
 * shape instead of Node's bare status line, then closes the connection, which the parser can no
 * longer use. A socket that is already gone (a client reset) is just destroyed.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const api = clientErrorOf(err.code);
    const body = JSON.stringify(api.toBody());
    socket.end(
      `HTTP/1.1 ${api.status} ${STATUS_CODES[api.status] ?? ''}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
