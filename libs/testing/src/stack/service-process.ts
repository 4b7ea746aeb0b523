import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** Options of {@link ServiceProcess}. */
export interface ServiceProcessOptions {
  /** Log prefix and name in errors, e.g. `aux-trainer-2`. */
  name: string;
  /** The app under `apps/` to run (its `src/main.ts`), e.g. `gpu-host`. */
  app: string;
  /** Extra environment, on top of this process's. */
  env?: Record<string, string>;
  /** Polled until it answers 200; `start()` resolves then. Without it, `start()` resolves on spawn. */
  healthUrl?: string;
  /** How long `start()` waits for health. Default 120 s (the first tfjs wasm start compiles). */
  startTimeoutMs?: number;
  /** Where each output line goes. Default: stderr, prefixed with the name. */
  log?: (line: string) => void;
  /** Workspace root. Default: the current directory. */
  cwd?: string;
}

const workspaceRoot = (cwd?: string): string => cwd ?? process.cwd();

/**
 * One service as a child process (`node --import tsx apps/<app>/src/main.ts`), run directly by
 * node rather than through an npx wrapper so that signals reach the service itself: tests
 * SIGKILL it mid-job, and the local stack stops it with SIGTERM.
 */
export class ServiceProcess {
  readonly logs: string[] = [];
  private child: ChildProcess | undefined;
  private exit: Promise<number | null> | undefined;

  constructor(readonly opts: ServiceProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the service and waits until it is healthy (or fails with its last log lines). */
  async start(): Promise<void> {
    const { name, app } = this.opts;
    const child = spawn(process.execPath, ['--import', 'tsx', join('apps', app, 'src', 'main.ts')], {
      cwd: workspaceRoot(this.opts.cwd),
      env: { ...process.env, ...this.opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
    const sink = this.opts.log ?? ((line: string) => process.stderr.write(`[${name}] ${line}\n`));
    for (const stream of [child.stdout!, child.stderr!]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          // The wasm glue dumps its whole minified source on an uncaught error; keep logs readable.
          if (line.startsWith('var Module=')) continue;
          this.logs.push(line);
          sink(line);
        }
      });
    }
    if (this.opts.healthUrl) await this.waitHealthy(this.opts.healthUrl, this.opts.startTimeoutMs ?? 120_000);
  }

  private async waitHealthy(url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exit!.then(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${this.opts.name} exited before it was healthy; last output:\n${this.logs.slice(-20).join('\n')}`);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.opts.name} was not healthy at ${url} within ${timeoutMs} ms; last output:\n${this.logs.slice(-20).join('\n')}`);
  }

  /** Sends `signal` and waits for the exit; escalates to SIGKILL after `timeoutMs`. Returns the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    if (!this.child || !this.exit) return null;
    if (!this.running) return this.exit;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: the crash a fault-tolerance test simulates. Resolves once the process is gone. */
  async kill(): Promise<void> {
    if (!this.child || !this.running) return;
    this.child.kill('SIGKILL');
    await this.exit;
  }

  /** Resolves when the process exits by itself. */
  exited(): Promise<number | null> {
    return this.exit ?? Promise.resolve(null);
  }
}
