import { randomUUID } from 'node:crypto';
import type { DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { serviceLogger, stderrDestination, type HostLogLevel } from '@cola/pipeline';
import { REQUEST_ID_HEADER } from '../common/request-id';

/** Probes that answer every few seconds: a line each would drown the requests worth reading. */
const UNLOGGED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The gateway's logging: nestjs-pino over the service logger every process uses, so Nest's own
 * logs and one line per finished request (method, path, status, time, the request id the client
 * sees) are JSON lines with keys and credentials redacted. A 5xx is logged as an error. Written
 * synchronously: Nest ends the process by raising the signal again, which no exit hook survives.
 */
export function gatewayLoggerModule(level: HostLogLevel | 'silent'): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      logger: serviceLogger('gateway', level, stderrDestination(true)),
      genReqId: (_req, res) => String(res.getHeader(REQUEST_ID_HEADER) ?? randomUUID()),
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
      autoLogging: { ignore: (req) => UNLOGGED_PATHS.has((req.url ?? '').split('?')[0]!) },
    },
  });
}
