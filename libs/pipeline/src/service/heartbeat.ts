import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { HEARTBEAT, keys, TTLS, type HeartbeatService } from '@cola/config';

/** A running heartbeat; `stop()` removes this instance at once (a clean stop is not a crash). */
export interface Heartbeat {
  readonly instance: string;
  stop(): Promise<void>;
}

/**
 * Announces that this process is alive: every {@link HEARTBEAT.intervalMs} it scores its instance
 * id with the time in `keys.heartbeats(service)` and renews the key's TTL, so a process that dies
 * drops out within {@link TTLS.heartbeatSeconds} and a fleet that is gone leaves no key behind.
 * Beats that fail (Redis down) are retried on the next tick; they never throw.
 */
export async function startHeartbeat(redisUrl: string, service: HeartbeatService, onError?: (e: Error) => void): Promise<Heartbeat> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined);
  const instance = `${hostname()}:${process.pid}`;
  const key = keys.heartbeats(service);
  const beat = async (): Promise<void> => {
    const now = Date.now();
    await redis
      .multi()
      .zadd(key, now, instance)
      .zremrangebyscore(key, '-inf', now - TTLS.heartbeatSeconds * 1000)
      .expire(key, TTLS.heartbeatSeconds)
      .exec();
  };
  await redis.connect().catch(() => undefined);
  await beat().catch((e: Error) => onError?.(e));
  const timer = setInterval(() => void beat().catch((e: Error) => onError?.(e)), HEARTBEAT.intervalMs);
  timer.unref();
  return {
    instance,
    stop: async () => {
      clearInterval(timer);
      await redis.zrem(key, instance).catch(() => undefined);
      redis.disconnect();
    },
  };
}

/** Instances of `service` that beat within the last {@link TTLS.heartbeatSeconds}. */
export async function liveInstances(redis: Redis, service: HeartbeatService): Promise<number> {
  return redis.zcount(keys.heartbeats(service), Date.now() - TTLS.heartbeatSeconds * 1000, '+inf');
}
