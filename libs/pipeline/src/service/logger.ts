/** Log levels of {@link HostLogger}. */
export type HostLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where a service reports what it does; every worker app passes the one from {@link jsonLogger}. */
export type HostLogger = (level: HostLogLevel, message: string, fields?: Record<string, unknown>) => void;

const LEVELS: readonly HostLogLevel[] = ['debug', 'info', 'warn', 'error'];

/** A JSON-lines logger on stderr that drops levels below `min`. */
export function jsonLogger(min: HostLogLevel = 'info', service = 'gpu-host'): HostLogger {
  const floor = LEVELS.indexOf(min);
  return (level, message, fields) => {
    if (LEVELS.indexOf(level) < floor) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, service, message, ...fields })}\n`);
  };
}
