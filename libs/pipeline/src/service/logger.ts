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

const destinations = new Map<boolean, ReturnType<typeof pino.destination>>();

/**
 * The process's stderr as pino writes it, one destination per mode. Asynchronous by default: a
 * log line never blocks the step loop on a slow pipe, and pino writes what is pending when the
 * process ends through `process.exit`. `sync` is for a process that may end without that hook
 * (the gateway: Nest stops it by raising the signal again), where a pending line would be lost.
 */
export function stderrDestination(sync = false): ReturnType<typeof pino.destination> {
  let dest = destinations.get(sync);
  if (!dest) destinations.set(sync, (dest = pino.destination({ dest: 2, sync })));
  return dest;
}

/**
 * The pino logger of a service process, shared by every service (the gateway hands it to
 * nestjs-pino): JSON lines with an ISO `time`, the `level` by name, the `service` and the
 * `message`, with {@link LOG_REDACT_PATHS} redacted.
 */
export function serviceLogger(
  service: string,
  level: LevelWithSilent = 'info',
  destination: DestinationStream = stderrDestination(),
): Logger {
  return pino(
    {
      level,
      base: { service },
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...LOG_REDACT_PATHS], censor: REDACTED },
    },
    destination,
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
