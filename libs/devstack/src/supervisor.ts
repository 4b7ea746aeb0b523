import { EventEmitter } from 'node:events';
import type { ServiceProcess } from '@cola/testing';

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  /** First delay before a restart. Default 500 ms. */
  initialBackoffMs?: number;
  /** Largest delay between restarts (the delay doubles per quick crash). Default 30 s. */
  maxBackoffMs?: number;
  /** A process that ran this long before it exited starts again at the initial delay. Default 60 s. */
  resetAfterMs?: number;
  /** Where the supervisor's own lines go (exit, restart). */
  log: (line: string) => void;
}

/** Typed events of {@link Supervisor}. */
export interface SupervisorEvents {
  /** The service exited without being asked to. */
  exited: [{ name: string; code: number | null; restarts: number }];
  /** The service is healthy again after a restart, under a new pid. */
  restarted: [{ name: string; pid: number; restarts: number }];
}

/**
 * Restarts a service that exits without being asked to, with exponential backoff and a log line
 * for each exit and restart, as Kubernetes does for a pod's container (restartPolicy: Always,
 * CrashLoopBackOff). `stop()` ends supervision first, so a requested stop is never undone.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  /** Restarts so far. */
  restarts = 0;
  private stopping = false;
  private quickFailures = 0;
  private timer: NodeJS.Timeout | undefined;
  private wakeTimer: (() => void) | undefined;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly resetMs: number;

  constructor(
    readonly service: ServiceProcess,
    private readonly opts: SupervisorOptions,
  ) {
    super();
    this.initialMs = opts.initialBackoffMs ?? 500;
    this.maxMs = opts.maxBackoffMs ?? 30_000;
    this.resetMs = opts.resetAfterMs ?? 60_000;
  }

  get name(): string {
    return this.service.opts.name;
  }

  /** Starts the service (waits until healthy) and watches it from then on. */
  async start(): Promise<void> {
    await this.service.start();
    this.watch();
  }

  private watch(): void {
    const since = Date.now();
    void this.service.exited().then((code) => this.onExit(code, since));
  }

  private async onExit(code: number | null, since: number): Promise<void> {
    if (this.stopping) return;
    if (Date.now() - since >= this.resetMs) this.quickFailures = 0;
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** this.quickFailures);
    this.quickFailures++;
    const how = code === -1 ? 'killed by a signal' : `exit code ${code}`;
    this.opts.log(`${this.name} exited unexpectedly (${how}); restarting in ${delay} ms (restart ${this.restarts + 1})`);
    this.emit('exited', { name: this.name, code, restarts: this.restarts });
    await new Promise<void>((resolve) => {
      this.timer = setTimeout(resolve, delay);
      this.wakeTimer = resolve;
    });
    this.timer = undefined;
    if (this.stopping) return;
    this.restarts++;
    try {
      await this.service.start();
    } catch (e) {
      this.opts.log(`${this.name} failed to restart: ${(e as Error).message.split('\n')[0]}`);
      // A start that timed out may have left a live but unhealthy process: end it, then retry.
      await this.service.kill();
      if (!this.stopping) void this.onExit(null, Date.now());
      return;
    }
    if (this.stopping) return;
    this.opts.log(`${this.name} restarted as pid ${this.service.pid}`);
    this.emit('restarted', { name: this.name, pid: this.service.pid ?? -1, restarts: this.restarts });
    this.watch();
  }

  /** Ends supervision without touching the process: its next exit is not restarted. */
  halt(): void {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.wakeTimer?.();
  }

  /** Ends supervision, then stops the service (SIGTERM, SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    this.halt();
    return this.service.stop(signal, timeoutMs);
  }
}
