import { ENV, testHarnessConfig } from '@cola/config';
import { isDockerReachable } from './docker-probe';
import { startLocalRedisServer } from './local-redis-server';

/** Where a test Redis came from. */
export type RedisSource = 'env' | 'testcontainers' | 'redis-server';

/** A Redis for tests. */
export interface RedisHandle {
  /** Connection URL, `redis://host:port[/db]`. */
  readonly url: string;
  /** Where it came from. */
  readonly source: RedisSource;
  /** Releases it: stops the container or the redis-server; a no-op for REDIS_URL. */
  stop(): Promise<void>;
}

/** Options for {@link startRedis}. */
export interface StartRedisOptions {
  /**
   * Environment to read REDIS_URL and COLA_TEST_REDIS from. Default `process.env`.
   * COLA_TEST_REDIS=testcontainers|redis-server forces a source; `auto` (default) decides.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** Image for Testcontainers. Default `redis:7-alpine`. */
  image?: string;
  /** How long to look for a Docker engine before falling back. Default 2 000 ms. */
  dockerProbeTimeoutMs?: number;
  /** redis-server executable for the local fallback. Default `redis-server` on PATH. */
  redisServerBin?: string;
}

const DEFAULT_IMAGE = 'redis:7-alpine';

async function startContainer(image: string): Promise<RedisHandle> {
  // Loaded on demand: importing testcontainers costs ~0.6 s that the fallback path never needs.
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer(image).start();
  let stopping: Promise<void> | undefined;
  return {
    url: container.getConnectionUrl(),
    source: 'testcontainers',
    stop: () => (stopping ??= container.stop().then(() => undefined)),
  };
}

/**
 * A real Redis for tests, in this order:
 * 1. REDIS_URL when set (stop() leaves it alone);
 * 2. a Testcontainers `redis:7-alpine` when a Docker engine answers within ~2 s;
 * 3. a local redis-server on a free port (see {@link startLocalRedisServer}).
 * Never a mock: docs/design.md section 3.
 */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisHandle> {
  const env = testHarnessConfig.load(opts.env ?? process.env);
  const redisUrl = env[ENV.REDIS_URL];
  if (redisUrl !== undefined) {
    return { url: redisUrl, source: 'env', stop: async () => undefined };
  }
  const mode = env[ENV.COLA_TEST_REDIS];
  const image = opts.image ?? DEFAULT_IMAGE;
  if (mode === 'testcontainers') return startContainer(image);
  if (mode === 'auto' && (await isDockerReachable({ timeoutMs: opts.dockerProbeTimeoutMs, env: opts.env }))) {
    return startContainer(image);
  }
  const server = await startLocalRedisServer({ bin: opts.redisServerBin });
  return { url: server.url, source: 'redis-server', stop: server.stop };
}
