import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@cola/testing';

/** Where Debian's `prometheus` package puts the server. */
export const PROMETHEUS_BIN = process.env.COLA_PROMETHEUS_BIN ?? '/usr/bin/prometheus';

/**
 * Makes sure a Prometheus server binary exists: when it is missing and we are root (CI images),
 * installs Debian's `prometheus` package, so `.ci/run` needs no extra step. Throws with the fix
 * otherwise.
 */
export function ensurePrometheus(): string {
  if (existsSync(PROMETHEUS_BIN)) return PROMETHEUS_BIN;
  if (process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    // --no-install-recommends: the server only, no node-exporter or web assets.
    const res = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], { stdio: 'inherit', env });
    // The package starts a system service on :9090; this test runs its own, so stop that one.
    spawnSync('sh', ['-c', 'command -v service >/dev/null && service prometheus stop || true'], { stdio: 'ignore' });
    if (res.status === 0 && existsSync(PROMETHEUS_BIN)) return PROMETHEUS_BIN;
  }
  throw new Error(
    `${PROMETHEUS_BIN} not found: install it with "sudo apt-get install -y prometheus" (Debian/Ubuntu), or set COLA_PROMETHEUS_BIN`,
  );
}

/** Options of {@link PrometheusServer.start}. */
export interface PrometheusOptions {
  /** host:port targets, by Prometheus job name. */
  targets: Record<string, string[]>;
  /** Absolute paths of rule files to load (they are validated at start). */
  ruleFiles?: string[];
  /** Scrape and rule evaluation interval. Default '1s'. */
  interval?: string;
}

/** A JSON answer of the Prometheus HTTP API. */
export interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
}

/** One sample of an instant vector. */
export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** One series of a range query. */
export interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

/** A real Prometheus server on a free port with a generated config, for tests. */
export class PrometheusServer {
  private readonly logs: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** Base URL, e.g. http://127.0.0.1:40123. */
    readonly url: string,
  ) {
    const keep = (b: Buffer): void => {
      this.logs.push(...b.toString().split('\n').filter(Boolean));
      if (this.logs.length > 200) this.logs.splice(0, this.logs.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** Writes the config, starts the server and waits until it is ready. */
  static async start(opts: PrometheusOptions): Promise<PrometheusServer> {
    const bin = ensurePrometheus();
    const dir = mkdtempSync(join(tmpdir(), 'cola-prometheus-'));
    const port = await freePort();
    const interval = opts.interval ?? '1s';
    const config = {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      rule_files: opts.ruleFiles ?? [],
      scrape_configs: Object.entries(opts.targets).map(([job, targets]) => ({ job_name: job, static_configs: [{ targets }] })),
    };
    // JSON is valid YAML: no YAML writer needed.
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
    const child = spawn(
      bin,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
        '--web.enable-lifecycle',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const server = new PrometheusServer(child, dir, `http://127.0.0.1:${port}`);
    await server.waitReady(30_000);
    return server;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`prometheus exited with ${this.child.exitCode}:\n${this.logs.join('\n')}`);
      try {
        if ((await fetch(`${this.url}/-/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`prometheus not ready after ${timeoutMs} ms:\n${this.logs.join('\n')}`);
  }

  /** GET /api/v1/<path> with query parameters; returns the parsed answer (errors included). */
  async api<T>(path: string, params: Record<string, string> = {}): Promise<PromResponse<T>> {
    const res = await fetch(`${this.url}/api/v1/${path}?${new URLSearchParams(params)}`);
    return (await res.json()) as PromResponse<T>;
  }

  /** An instant query; throws with Prometheus's message when it does not parse or fails. */
  async query(expr: string): Promise<VectorSample[]> {
    const r = await this.api<{ resultType: string; result: VectorSample[] | [number, string] }>('query', { query: expr });
    if (r.status !== 'success') throw new Error(`${r.errorType}: ${r.error} in ${expr}`);
    if (r.data.resultType === 'scalar') return [{ metric: {}, value: r.data.result as [number, string] }];
    return r.data.result as VectorSample[];
  }

  /** The single value of a query that sums to one sample (0 when there is none). */
  async value(expr: string): Promise<number> {
    const r = await this.query(expr);
    return r.length ? Number(r[0]!.value[1]) : 0;
  }

  /** A range query over [startSec, endSec] at `stepSec`. */
  async range(expr: string, startSec: number, endSec: number, stepSec: number): Promise<MatrixSeries[]> {
    const r = await this.api<{ result: MatrixSeries[] }>('query_range', {
      query: expr,
      start: String(startSec),
      end: String(endSec),
      step: String(stepSec),
    });
    if (r.status !== 'success') throw new Error(`${r.errorType}: ${r.error} in ${expr}`);
    return r.data.result;
  }

  /** Waits until `check` holds, polling every 250 ms. */
  async until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  /** Stops the server and deletes its data. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
