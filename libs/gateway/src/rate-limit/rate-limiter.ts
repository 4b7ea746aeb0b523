import type { Redis } from 'ioredis';
import { keys } from '@cola/config';
import { LuaScript } from '@cola/store';

/**
 * Fixed window per key, atomically: the first request of a window starts it (PEXPIRE), every
 * request counts (INCR). One Redis round trip, shared by all gateway replicas. A counter left
 * without a TTL (a crash between the two calls cannot happen in Lua, but a manual SET could)
 * gets one, so no tenant is ever locked out for good.
 */
const HIT = new LuaScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end
return {n, ttl}`);

/** The outcome of one counted request. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

/** Per-tenant request counting in Redis (fixed window). */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly limit: number,
    private readonly windowSeconds: number,
  ) {}

  /** Counts one request of `tenantId` and says whether it is within the limit. */
  async hit(tenantId: string): Promise<RateLimitDecision> {
    const [count, ttl] = (await HIT.run(this.redis, [keys.tenantRateLimit(tenantId)], [String(this.windowSeconds * 1000)])) as [
      number,
      number,
    ];
    return { allowed: count <= this.limit, limit: this.limit, remaining: Math.max(0, this.limit - count), resetMs: ttl };
  }
}
