import type { Redis } from 'ioredis';

/** One page of a {@link NewestFirstIndex}. */
export interface IndexPage {
  /** Ids, newest first. */
  ids: string[];
  /** Whether another page follows the last id. */
  hasMore: boolean;
}

/**
 * One page of the sorted set at `key`, newest (highest score) first, after the member `after`.
 * Ranks are looked up at read time, so ids added meanwhile neither repeat nor get skipped. Null
 * when `after` is not in the set (unknown, deleted, or another owner's id): the caller says so.
 */
export async function pageNewestFirst(redis: Redis, key: string, after: string | undefined, limit: number): Promise<IndexPage | null> {
  let start = 0;
  if (after !== undefined) {
    const rank = await redis.zrevrank(key, after);
    if (rank === null) return null;
    start = rank + 1;
  }
  // One extra id tells whether there is a next page.
  const ids = await redis.zrevrange(key, start, start + limit);
  return { ids: ids.slice(0, limit), hasMore: ids.length > limit };
}

/**
 * The ids an owner has, newest first: a Redis sorted set per owner scored by the time each id was
 * added (a tenant's jobs, a tenant's files). `keyOf` is the key's one definition in libs/config.
 */
export class NewestFirstIndex {
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (owner: string) => string,
  ) {}

  /** Adds `id` to the owner's index at time `at` (ms since the epoch). */
  async add(owner: string, id: string, at: number = Date.now()): Promise<void> {
    await this.redis.zadd(this.keyOf(owner), at, id);
  }

  /** The newest `limit` ids of the owner. */
  newest(owner: string, limit: number): Promise<string[]> {
    return this.redis.zrevrange(this.keyOf(owner), 0, limit - 1);
  }

  /** A page after `after`; null when `after` is not one of the owner's ids. */
  page(owner: string, after: string | undefined, limit: number): Promise<IndexPage | null> {
    return pageNewestFirst(this.redis, this.keyOf(owner), after, limit);
  }
}
