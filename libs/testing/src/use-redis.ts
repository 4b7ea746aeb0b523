import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { leaseRedisDb, type RedisDbLease } from './redis-db-lease';
import { startRedis, type RedisHandle, type RedisSource, type StartRedisOptions } from './start-redis';

/** What {@link useRedis} gives a test file. */
export interface RedisFixture {
  /** Connection URL; readable from the first `before()` hook on, throws before. */
  readonly url: string;
  /** Where the Redis came from. */
  readonly source: RedisSource;
  /** A new ioredis client on {@link url}; closed automatically in `after()`. */
  client(): Redis;
  /** Deletes every key of this file's database, e.g. between tests that must not see each other. */
  flush(): Promise<void>;
  /**
   * Resolves once the Redis is started (rejects if it could not start). Node 20 runs several
   * top-level before() hooks concurrently, so a top-level before() of yours must await this
   * before it reads {@link url}; hooks inside a describe block run in order and need not.
   */
  whenReady(): Promise<void>;
}

/**
 * Gives the current test file a Redis of its own: started in `before()`, stopped in `after()`.
 *
 *   const redis = useRedis();
 *   before(() => { store = new TensorStore(new Redis(redis.url)); });
 *
 * Isolation: `node --test` runs each file in its own process, and each file gets its own
 * redis-server or container, so nothing leaks between files. With REDIS_URL set, all files
 * share that server, so each one leases a distinct logical database (see `leaseRedisDb`) that
 * is flushed when taken and when released.
 *
 * Call it inside a describe block (hooks there run in order), or at the top level of a test
 * file and `await redis.whenReady()` in your own top-level before() hooks.
 */
export function useRedis(opts: StartRedisOptions = {}): RedisFixture {
  let handle: RedisHandle | undefined;
  let lease: RedisDbLease | undefined;
  let url: string | undefined;
  const clients: Redis[] = [];
  let markReady: () => void = () => undefined;
  let markFailed: (err: unknown) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  // The failure is reported by the before() hook itself; nobody has to await `ready`.
  ready.catch(() => undefined);

  const requireUrl = (): string => {
    if (url === undefined) throw new Error('useRedis(): the Redis is not started yet; read .url inside a test or a before() hook');
    return url;
  };

  before(async () => {
    try {
      handle = await startRedis(opts);
      if (handle.source === 'env') {
        lease = await leaseRedisDb(handle.url);
        url = lease.url;
      } else {
        url = handle.url;
      }
      markReady();
    } catch (err) {
      markFailed(err);
      throw err;
    }
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    clients.length = 0;
    await lease?.release();
    await handle?.stop();
  });

  return {
    get url() {
      return requireUrl();
    },
    get source() {
      if (handle === undefined) throw new Error('useRedis(): the Redis is not started yet');
      return handle.source;
    },
    client() {
      const c = new Redis(requireUrl());
      clients.push(c);
      return c;
    },
    whenReady: () => ready,
    async flush() {
      const c = new Redis(requireUrl(), { lazyConnect: true });
      await c.connect();
      try {
        await c.flushdb();
      } finally {
        await c.quit();
      }
    },
  };
}
