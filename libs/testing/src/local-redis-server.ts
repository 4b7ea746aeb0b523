import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Options for {@link startLocalRedisServer}. */
export interface LocalRedisServerOptions {
  /** The redis-server executable, a name looked up on PATH or a path. Default `redis-server`. */
  bin?: string;
  /** Address to bind. Default `127.0.0.1`: a test Redis must never be reachable from outside. */
  host?: string;
  /** Port to listen on. Default: a free port chosen by the OS. */
  port?: number;
  /**
   * Data directory. Default: a fresh temporary directory, removed by `stop()`. A directory you
   * pass is kept.
   */
  dir?: string;
  /**
   * Extra redis-server arguments, appended last (so they override ours), e.g.
   * `['--appendonly', 'yes']` for a local `npm start` that should survive restarts.
   */
  args?: readonly string[];
  /** How long to wait for "Ready to accept connections" and a PONG. Default 10 000 ms. */
  startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before it sends SIGKILL. Default 5 000 ms. */
  stopTimeoutMs?: number;
}

/** A running redis-server child process. */
export interface LocalRedisServer {
  /** `redis://host:port`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Process id of redis-server. */
  readonly pid: number;
  /** Its data directory. */
  readonly dir: string;
  /** Stops the server (SIGTERM, then SIGKILL), waits for it to exit and removes a temp dir. */
  stop(): Promise<void>;
}

/** Thrown when redis-server is not installed. */
export class RedisServerNotFoundError extends Error {
  override readonly name = 'RedisServerNotFoundError';
}

const INSTALL_HINT = 'install it with `apt-get install -y redis-server` (Debian) or set REDIS_URL';

// Children still running, killed synchronously if this process exits without stopping them
// (a failing test, process.exit(), an uncaught error or a termination signal). Only SIGKILL of
// this process can leave one behind.
const live = new Set<ChildProcess>();
let hooksInstalled = false;

function killAllNow(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllNow();
      // Keep the default behaviour (terminate) unless someone else handles the signal.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/** Asks the OS for a free TCP port on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the port the OS chose'))));
    });
  });
}

/** Sends one PING over a plain socket; resolves when the answer is +PONG. */
export function pingRedis(host: string, port: number, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let reply = '';
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no PING reply from ${host}:${port} within ${timeoutMs} ms`)));
    socket.once('error', fail);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (!reply.includes('\r\n')) return;
      socket.destroy();
      if (reply.startsWith('+PONG')) resolve();
      else reject(new Error(`unexpected PING reply from ${host}:${port}: ${reply.trim()}`));
    });
  });
}

interface Attempt {
  child: ChildProcess;
  exited: Promise<void>;
}

/**
 * Spawns redis-server and waits until it logs "Ready to accept connections". Rejects with the
 * tail of its output when it exits first (e.g. the port was taken meanwhile).
 */
function spawnAndWaitReady(bin: string, args: string[], timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    let output = '';
    let settled = false;
    const finish = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.removeListener('data', onData);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else {
        // Keep draining output so a chatty server never blocks on a full pipe.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve({ child, exited });
      }
    };
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4000);
      if (output.includes('Ready to accept connections')) finish(undefined);
    };
    const timer = setTimeout(
      () => finish(new Error(`redis-server did not become ready within ${timeoutMs} ms. Output:\n${output}`)),
      timeoutMs,
    );
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000)));
    child.once('error', (err: NodeJS.ErrnoException) =>
      finish(err.code === 'ENOENT' ? new RedisServerNotFoundError(`redis-server was not found (tried "${bin}"): ${INSTALL_HINT}`) : err),
    );
    // 'close', not 'exit': 'exit' may come before the last of the server's output has been read,
    // and that output says why it stopped (a port in use, a bad option).
    child.once('close', (code, signal) =>
      finish(new Error(`redis-server exited early (code ${code}, signal ${signal}). Output:\n${output}`)),
    );
  });
}

/**
 * Starts a throw-away redis-server: bound to localhost, no RDB snapshots, no AOF, its own data
 * directory. Used by the test harness when neither REDIS_URL nor a Docker engine is available,
 * and by `npm start` for the embedded default.
 */
export async function startLocalRedisServer(opts: LocalRedisServerOptions = {}): Promise<LocalRedisServer> {
  const bin = opts.bin ?? 'redis-server';
  const host = opts.host ?? '127.0.0.1';
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 5_000;
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535)) {
    throw new RangeError(`startLocalRedisServer(): port ${opts.port} is not 1-65535; omit it to pick a free port`);
  }
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'cola-redis-'));

  // A free port can be taken between our probe and redis' bind; try a few fresh ones.
  const tries = opts.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let i = 0; i < tries; i++) {
    const port = opts.port ?? (await freePort(host));
    const args = ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', '--dir', dir, ...(opts.args ?? [])];
    let attempt: Attempt;
    try {
      attempt = await spawnAndWaitReady(bin, args, startTimeoutMs);
    } catch (err) {
      lastError = err;
      if (err instanceof RedisServerNotFoundError || !String(err).includes('Address already in use')) break;
      continue;
    }
    const { child, exited } = attempt;
    live.add(child);
    installExitHooks();
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
          await exited;
          clearTimeout(timer);
        }
        live.delete(child);
        if (ownDir) rmSync(dir, { recursive: true, force: true });
      })());
    try {
      await pingRedis(host, port, startTimeoutMs);
    } catch (err) {
      await stop();
      throw err;
    }
    const urlHost = host.includes(':') ? `[${host}]` : host;
    return { url: `redis://${urlHost}:${port}`, port, pid: child.pid ?? -1, dir, stop };
  }
  if (ownDir) rmSync(dir, { recursive: true, force: true });
  throw lastError;
}
