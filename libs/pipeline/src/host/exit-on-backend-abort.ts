import type { HostLogger } from '../service/logger';
import type { HostService } from './host-service';

/**
 * Exit code of a gpu-host whose compute backend aborted (EX_SOFTWARE): non-zero, so whatever
 * supervises it (the dev stack, Kubernetes) restarts it, and distinct from a start failure (1).
 */
export const HOST_ABORT_EXIT_CODE = 70;

/**
 * Wires a gpu-host process to its backend aborting: the host has already stopped stepping and
 * handed its jobs back (its /healthz fails from that moment); this closes it (the jobs return to
 * the queue for the restarted host) and exits with {@link HOST_ABORT_EXIT_CODE}.
 */
export function exitOnBackendAbort(host: HostService, log: HostLogger, closeAlso: () => Promise<void> = async () => undefined): void {
  host.once('fatal', ({ reason }) => {
    log('error', `gpu-host exiting with code ${HOST_ABORT_EXIT_CODE}: ${reason}`);
    const exit = (): never => process.exit(HOST_ABORT_EXIT_CODE);
    host
      .close()
      .then(closeAlso)
      .catch((e: unknown) => log('error', `closing after the abort: ${(e as Error).message}`))
      .finally(exit);
  });
}
