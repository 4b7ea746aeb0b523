import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** Options for {@link leaseRedisDb}. */
export interface RedisDbLeaseOptions {
  /**
   * How long a lease lives without renewal. It is renewed every third of this while held, so it
   * only matters for leases of crashed processes, which expire after it. Default 10 minutes.
   */
  ttlMs?: number;
}

/** A logical database of a shared Redis, held by one test file. */
export interface RedisDbLease {
  /** The shared URL with the leased database number as its path. */
  readonly url: string;
  /** The leased database number. */
  readonly db: number;
  /** Empties the leased database and gives it back. */
  release(): Promise<void>;
}

/** Key, in the URL's own database, that marks database `db` as taken. */
export function leaseKey(db: number): string {
  return `cola:test-lease:db${db}`;
}

function dbOf(url: URL): number {
  const path = url.pathname.replace(/^\//, '');
  if (path === '') return 0;
  const db = Number(path);
  if (!Number.isInteger(db) || db < 0) throw new Error(`REDIS_URL path "/${path}" is not a database number`);
  return db;
}

/**
 * Leases a database of the Redis at `baseUrl` for one test file, so several test files (one
 * process each under `node --test`) can share one REDIS_URL without seeing each other's keys,
 * BullMQ queues included, and without key-prefix plumbing through every service.
 *
 * Why databases and not key prefixes: BullMQ, the stores and the services all build their own
 * keys from @cola/config; a per-test prefix would have to be threaded through every one of them.
 * A database number only changes the URL.
 *
 * The lease is `SET cola:test-lease:db<N> <token> NX PX ttl` in the URL's own database, which is
 * never flushed. Leased databases are never the URL's own one, are FLUSHDB'ed when taken (a
 * crashed run may have left keys) and when released. So REDIS_URL must point at a Redis that is
 * yours to wipe (databases other than its own). Redis Cluster has no databases: not supported.
 */
export async function leaseRedisDb(baseUrl: string, opts: RedisDbLeaseOptions = {}): Promise<RedisDbLease> {
  const ttlMs = opts.ttlMs ?? 10 * 60 * 1000;
  const ownDb = dbOf(new URL(baseUrl));
  const token = `${process.pid}:${randomUUID()}`;
  const db = await withClient(baseUrl, async (control) => {
    let count = 16;
    try {
      // Managed Redis may refuse CONFIG; 16 is Redis' default.
      const reply = (await control.config('GET', 'databases')) as unknown;
      if (Array.isArray(reply) && reply.length === 2) count = Number(reply[1]) || 16;
    } catch {
      count = 16;
    }
    for (let candidate = 0; candidate < count; candidate++) {
      if (candidate === ownDb) continue;
      if ((await control.set(leaseKey(candidate), token, 'PX', ttlMs, 'NX')) === 'OK') return candidate;
    }
    throw new Error(
      `All ${count - 1} spare databases of REDIS_URL are leased by other test processes. ` +
        `Run fewer test files at once (COLA_TEST_CONCURRENCY), or wait ${Math.round(ttlMs / 1000)} s ` +
        `for leases of crashed runs to expire.`,
    );
  });
  const url = new URL(baseUrl);
  url.pathname = `/${db}`;
  const leasedUrl = url.toString();
  await withClient(leasedUrl, (c) => c.flushdb());

  // Short-lived connections only: a lease must never keep the test process alive, nor reconnect
  // forever once the test has stopped the server it points at.
  const renew = setInterval(() => {
    void withClient(baseUrl, (c) => c.pexpire(leaseKey(db), ttlMs)).catch(() => undefined);
  }, ttlMs / 3);
  renew.unref();
  let released: Promise<void> | undefined;
  return {
    url: leasedUrl,
    db,
    release: () =>
      (released ??= (async () => {
        clearInterval(renew);
        // Only wipe and drop the lease if it is still ours: had it expired and been taken by
        // another process, its database is not ours to flush any more.
        const ours = await withClient(baseUrl, async (c) => (await c.get(leaseKey(db))) === token);
        if (!ours) return;
        await withClient(leasedUrl, (c) => c.flushdb());
        await withClient(baseUrl, (c) =>
          c.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, leaseKey(db), token),
        );
      })()),
  };
}

async function withClient<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => undefined); // reported through the rejected command instead
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}
