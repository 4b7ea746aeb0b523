import { pino, type DestinationStream, type LevelWithSilent, type Logger } from 'pino';

/** Log levels of {@link HostLogger}. */
export type HostLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where a service reports what it does; every worker app passes the one from {@link jsonLogger}. */
export type HostLogger = (level: HostLogLevel, message: string, fields?: Record<string, unknown>) => void;

/**
 * What never reaches a log line, in pino's redaction paths: the credentials of a request (the
 * gateway logs its requests with their headers) and any field named like a key or a secret, at the
 * top level of a line or one object down. A path that is absent costs nothing.
 */
export const LOG_REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  ...['authorization', 'apiKey', 'api_key', 'adminKey', 'password', 'secret', 'token', 'redisUrl'].flatMap((k) => [k, `*.${k}`]),
];

/** What a redacted value is written as. */
export const REDACTED = '[redacted]';

let stderr: ReturnType<typeof pino.destination> | undefined;

/**
 * The process's one log destination: stderr, written asynchronously (a log line never blocks the
 * step loop on a slow pipe). pino flushes what is pending when the process exits through
 * `process.exit`; a process that dies from a signal should await {@link flushLogs} first.
 */
function stderrDestination(): ReturnType<typeof pino.destination> {
  stderr ??= pino.destination({ dest: 2, sync: false });
  return stderr;
}

/** Resolves when every line logged so far has been written. */
export function flushLogs(): Promise<void> {
  const dest = stderr;
  if (!dest) return Promise.resolve();
  return new Promise((resolve) => dest.flush(() => resolve()));
}

/**
 * The pino logger of a service process, shared by every service (the gateway hands it to
 * nestjs-pino): JSON lines with an ISO `time`, the `level` by name, the `service` and the
 * `message`, with {@link LOG_REDACT_PATHS} redacted. `destination` defaults to stderr.
 */
export function serviceLogger(service: string, level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...LOG_REDACT_PATHS], censor: REDACTED },
    },
    destination ?? stderrDestination(),
  );
}

/**
 * The {@link HostLogger} over {@link serviceLogger}: drops levels below `min`. The message goes
 * ahead of the fields, so a reader scanning the lines sees what happened first.
 */
export function jsonLogger(min: HostLogLevel = 'info', service = 'gpu-host', destination?: DestinationStream): HostLogger {
  const logger = serviceLogger(service, min, destination);
  return (level, message, fields) => logger[level]({ message, ...fields });
}
