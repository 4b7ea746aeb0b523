import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** What a script may take as arguments. */
export type LuaArg = string | number | Buffer;

/**
 * A Lua script run with EVALSHA, falling back to EVAL (which also caches it) when the server
 * does not know it yet: after a restart, a failover or SCRIPT FLUSH. Sending the body only on a
 * miss matters for scripts called per fit step.
 */
export class LuaScript {
  /** SHA-1 of the source, as Redis names it. */
  readonly sha1: string;

  constructor(readonly source: string) {
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script; every key it touches must be in `keys` (Redis Cluster routes on them). */
  async run(redis: Redis, keys: readonly string[], args: readonly LuaArg[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha1, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
