import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseModelDirOf, ENV, PORTS } from '@cola/config';
import { freePort, pingRedis, ServiceProcess } from '@cola/testing';
import { Supervisor } from './supervisor';

/** Options of {@link LocalStack}. */
export interface LocalStackOptions {
  /** Use this Redis instead of starting one (default: `REDIS_URL` of the environment, else our own redis-server). */
  redisUrl?: string;
  /** Base checkpoint directory for the gpu-host and the merger. Default: `COLA_BASE_MODEL_DIR`, else `MODEL_DIR`, else `models/cola-tiny`. */
  modelDir?: string;
  /** The gateway's admin key. Default: `GATEWAY_ADMIN_KEY`, else a random one printed at start. */
  adminKey?: string;
  /** Number of aux-trainer processes. Default 2. */
  trainers?: number;
  /** Where every prefixed service log line goes. Default: stdout. */
  log?: (line: string) => void;
  /** The redis-server executable. Default `redis-server` on PATH. */
  redisServerBin?: string;
  /** ANSI colours in the log prefixes. Default: when stdout is a terminal and NO_COLOR is unset. */
  color?: boolean;
  /** Environment read for the defaults above. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Where our redis-server keeps its append-only file. Default: `COLA_REDIS_DIR`, else a temp dir
   * that survives restarts of Redis but is removed when the stack stops. A dir given here is kept.
   */
  redisDir?: string;
  /** Restart a service that exits unexpectedly (and our Redis), with backoff. Default true. */
  supervise?: boolean;
  /**
   * Take the documented default ports when they are free (nicer URLs for a newcomer). Default true.
   * Tests pass false: two stacks starting at once could both see a default port free, and the one
   * that loses the bind would then find the other's service answering its health check.
   */
  defaultPorts?: boolean;
}

/** One running service as `npm start` prints it. */
export interface StackServiceInfo {
  name: string;
  pid: number;
  /** Its /metrics URL (the gateway serves it on the API port). */
  metricsUrl: string;
  /** Its health URL. */
  healthUrl: string;
}

/** Thrown when no Redis can be had; the message says how to get one. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m', '\x1b[31m'];
const RESET = '\x1b[0m';

/** The default port when it is free (nicer URLs for a newcomer), else any free port. */
async function defaultPortIfFree(port: number): Promise<number> {
  const free = await new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  return free ? port : freePort();
}

/**
 * The whole platform on one machine (`npm start`): a Redis, the gateway, a gpu-host, N
 * aux-trainers and the merger as child processes with prefixed logs. `stop()` ends the services
 * (SIGTERM, SIGKILL after a grace period), then the Redis it started, and removes its data dir.
 */
export class LocalStack {
  readonly services = new Map<string, ServiceProcess>();
  /** The supervisor of each service (when supervising). */
  readonly supervisors = new Map<string, Supervisor>();
  readonly info: StackServiceInfo[] = [];
  readonly adminKey: string;
  readonly modelDir: string;
  redisUrl = '';
  apiUrl = '';
  /** pid of the redis-server we started (undefined when REDIS_URL was used). */
  redisPid: number | undefined;
  private redisChild: ChildProcess | undefined;
  private redisDir: string | undefined;
  private redisPort = 0;
  /** Whether we made the Redis dir (then we remove it on stop). */
  private ownRedisDir = false;
  private redisRestarts = 0;
  private stopping: Promise<void> | undefined;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: LocalStackOptions = {}) {
    const env = opts.env ?? process.env;
    this.adminKey = opts.adminKey ?? env[ENV.GATEWAY_ADMIN_KEY] ?? `admin-${randomBytes(16).toString('hex')}`;
    // The services' precedence (COLA_BASE_MODEL_DIR over MODEL_DIR), so the demo's "before"
    // figures are measured on the base the services load.
    this.modelDir =
      opts.modelDir ??
      baseModelDirOf({ COLA_BASE_MODEL_DIR: env[ENV.COLA_BASE_MODEL_DIR], MODEL_DIR: env[ENV.MODEL_DIR] ?? 'models/cola-tiny' });
    this.log = opts.log ?? ((line) => process.stdout.write(`${line}\n`));
    const trainers = opts.trainers ?? 2;
    if (!Number.isInteger(trainers) || trainers < 1) throw new RangeError(`LocalStack: trainers must be an integer >= 1, got ${trainers}`);
    if (this.adminKey.length < 16)
      throw new RangeError('LocalStack: the admin key needs 16+ characters; set GATEWAY_ADMIN_KEY to a longer one or unset it');
  }

  /** Starts everything and waits until each service is ready. On failure, stops what started. */
  async start(): Promise<void> {
    try {
      this.redisUrl = this.opts.redisUrl ?? (this.opts.env ?? process.env)[ENV.REDIS_URL] ?? (await this.startRedis());
      const grpcPort = await this.port(PORTS.mergerGrpc);
      // Warnings and errors only unless LOG_LEVEL asks for more: info lines would interleave with
      // the demo's progress bars.
      const logLevel = (this.opts.env ?? process.env)[ENV.LOG_LEVEL] ?? 'warn';
      const common = { [ENV.REDIS_URL]: this.redisUrl, [ENV.MODEL_DIR]: this.modelDir, [ENV.LOG_LEVEL]: logLevel };
      const trainers = this.opts.trainers ?? 2;
      const workers: [string, string, number, Record<string, string>][] = [
        ['gpu-host', 'gpu-host', PORTS.metrics.gpuHost, {}],
        ...Array.from({ length: trainers }, (_, i): [string, string, number, Record<string, string>] => [
          `aux-trainer-${i + 1}`,
          'aux-trainer',
          PORTS.metrics.auxTrainer + i * 10,
          {},
        ]),
        // Loopback only: on a laptop the merger is for the local gateway, not the network.
        ['merger', 'merger', PORTS.metrics.merger, { [ENV.MERGER_GRPC_PORT]: String(grpcPort), [ENV.MERGER_GRPC_HOST]: '127.0.0.1' }],
      ];
      // One after another: two cores, and each first start compiles the tfjs wasm module.
      for (const [name, app, port, env] of workers) {
        const metricsPort = await this.port(port);
        await this.startService(
          name,
          app,
          { ...common, ...env, [ENV.METRICS_PORT]: String(metricsPort) },
          `http://127.0.0.1:${metricsPort}`,
        );
      }
      const gatewayPort = await this.port(PORTS.gatewayHttp);
      this.apiUrl = `http://127.0.0.1:${gatewayPort}`;
      await this.startService(
        'gateway',
        'gateway',
        {
          [ENV.REDIS_URL]: this.redisUrl,
          [ENV.GATEWAY_PORT]: String(gatewayPort),
          [ENV.MERGER_ADDRESS]: `127.0.0.1:${grpcPort}`,
          [ENV.GATEWAY_ADMIN_KEY]: this.adminKey,
          [ENV.MODEL_DIR]: this.modelDir,
          [ENV.LOG_LEVEL]: 'warn',
        },
        this.apiUrl,
        // /readyz: the gateway, Redis and the merger all answer.
        '/readyz',
      );
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** A port for a service whose documented default is `port` (see {@link LocalStackOptions.defaultPorts}). */
  private port(port: number): Promise<number> {
    return (this.opts.defaultPorts ?? true) ? defaultPortIfFree(port) : freePort();
  }

  private async startService(name: string, app: string, env: Record<string, string>, base: string, healthPath = '/healthz'): Promise<void> {
    const prefix = this.paint(COLORS[this.services.size % COLORS.length]!, `[${name}]`.padEnd(16));
    const service = new ServiceProcess({ name, app, env, healthUrl: `${base}${healthPath}`, log: (line) => this.log(`${prefix} ${line}`) });
    this.services.set(name, service);
    const info: StackServiceInfo = { name, pid: -1, metricsUrl: `${base}/metrics`, healthUrl: `${base}${healthPath}` };
    if (this.opts.supervise ?? true) {
      const supervisor = new Supervisor(service, {
        log: (line) => this.log(`${this.paint('\x1b[90m', '[supervisor]'.padEnd(16))} ${line}`),
      });
      supervisor.on('restarted', ({ pid }) => (info.pid = pid));
      this.supervisors.set(name, supervisor);
      await supervisor.start();
    } else await service.start();
    info.pid = service.pid ?? -1;
    this.info.push(info);
  }

  /**
   * Our own redis-server, with an append-only file (fsync every second) in a dir that outlives a
   * restart of Redis, in its own process group so a terminal's Ctrl-C reaches only us: we stop it
   * last. When it dies, it is restarted on the same port and dir, and replays its AOF.
   */
  private async startRedis(): Promise<string> {
    // Next to the default port: a developer's own Redis often holds 6379.
    this.redisPort = await this.port(PORTS.redis + 1);
    const given = this.opts.redisDir ?? (this.opts.env ?? process.env)[ENV.COLA_REDIS_DIR];
    if (given) mkdirSync(given, { recursive: true });
    this.ownRedisDir = !given;
    const dir = given ?? mkdtempSync(join(tmpdir(), 'cola-stack-redis-'));
    this.redisDir = dir;
    // Detached, so it would outlive a crash of ours: kill it when this process exits however it exits.
    process.once('exit', () => {
      const child = this.redisChild;
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (this.ownRedisDir) rmSync(dir, { recursive: true, force: true });
    });
    await this.spawnRedis();
    this.log(
      `${this.paint('\x1b[90m', '[redis]'.padEnd(16))} redis-server pid ${this.redisPid} on port ${this.redisPort}, data in ${dir} (append-only file, fsync every second)`,
    );
    return `redis://127.0.0.1:${this.redisPort}`;
  }

  private async spawnRedis(): Promise<void> {
    const bin = this.opts.redisServerBin ?? 'redis-server';
    const child = spawn(
      bin,
      [
        ...['--port', String(this.redisPort), '--bind', '127.0.0.1', '--dir', this.redisDir!],
        // Durable: every write is in the AOF within a second; no RDB snapshots on top.
        ...['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    this.redisChild = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new RedisUnavailableError(`redis-server did not start within 10 s:\n${out}`)), 10_000);
      const onData = (c: Buffer): void => {
        out += c.toString('utf8');
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          child.stdout?.resume();
          child.stderr?.resume();
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          err.code === 'ENOENT'
            ? new RedisUnavailableError(
                `redis-server was not found (tried "${bin}"). Install it with \`apt-get install -y redis-server\` (Debian/Ubuntu) or \`brew install redis\` (macOS), or point REDIS_URL at a running Redis.`,
              )
            : err,
        );
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new RedisUnavailableError(`redis-server exited early (code ${code}):\n${out}`));
      });
    });
    child.removeAllListeners('exit');
    await pingRedis('127.0.0.1', this.redisPort);
    this.redisPid = child.pid;
    if (this.opts.supervise ?? true) child.once('exit', (code, signal) => void this.onRedisExit(code, signal));
  }

  /** Restarts our Redis after an unexpected exit (same port, same AOF), with backoff. */
  private async onRedisExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.stopping) return;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.redisRestarts, 6));
    this.redisRestarts++;
    const tag = this.paint('\x1b[90m', '[supervisor]'.padEnd(16));
    this.log(`${tag} redis-server exited unexpectedly (${signal ?? `exit code ${code}`}); restarting in ${delay} ms from its AOF`);
    await new Promise((r) => setTimeout(r, delay));
    if (this.stopping) return;
    try {
      await this.spawnRedis();
      this.log(`${tag} redis-server restarted as pid ${this.redisPid}`);
    } catch (e) {
      this.log(`${tag} redis-server failed to restart: ${(e as Error).message.split('\n')[0]}`);
      void this.onRedisExit(null, null);
    }
  }

  private paint(color: string, text: string): string {
    const on = this.opts.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
    return on ? `${color}${text}${RESET}` : text;
  }

  /** Every pid we started (services and our Redis), for checks that none is left. */
  pids(): number[] {
    return [...this.info.map((s) => s.pid), ...(this.redisPid ? [this.redisPid] : [])].filter((p) => p > 0);
  }

  /** Stops the services (gateway first, so no new work arrives), then Redis. Idempotent. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      // First end supervision everywhere: a Ctrl-C also reaches the services, which then exit on
      // their own, and nothing may restart them.
      for (const supervisor of this.supervisors.values()) supervisor.halt();
      const stopOne = (name: string): Promise<unknown> =>
        (this.supervisors.get(name) ?? this.services.get(name))?.stop('SIGTERM', 10_000) ?? Promise.resolve();
      await stopOne('gateway');
      await Promise.all([...this.services.keys()].map(stopOne));
      const child = this.redisChild;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (this.redisDir && this.ownRedisDir) rmSync(this.redisDir, { recursive: true, force: true });
    })());
  }
}
