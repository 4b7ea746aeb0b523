import { EnvConfigError } from '@cola/config';
import type { HostLogger } from './logger';

/** What a started service process hands to {@link runService}. */
export interface RunningService {
  /** The process's logger. */
  log: HostLogger;
  /** What a stop does, for the log line, e.g. "finishing the running fit tasks". */
  stopping: string;
  /** Stops the service and frees what it holds; called once, on the first SIGTERM or SIGINT. */
  close(): Promise<void>;
}

/**
 * The process shell every worker app shares: start the service; on the first SIGTERM or SIGINT,
 * close it once and exit 0 (1 when closing fails). A start failure exits 1 after printing the
 * error: a bad environment as its list of problems with their fixes, anything else with its stack.
 */
export function runService(start: () => Promise<RunningService>): void {
  start().then(
    (service) => {
      let stopping = false;
      const stop = async (signal: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        service.log('info', `${signal}: ${service.stopping}`);
        try {
          await service.close();
          process.exit(0);
        } catch (e) {
          service.log('error', `shutdown failed: ${(e as Error).message}`);
          process.exit(1);
        }
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof EnvConfigError ? e.message : ((e as Error).stack ?? String(e))}\n`);
      process.exit(1);
    },
  );
}
