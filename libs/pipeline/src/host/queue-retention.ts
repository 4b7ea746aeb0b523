import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_RETENTION, queueEventsKey, type QueueName } from '@cola/config';
import type { HostLogger } from '../service/logger';

/** Options of {@link QueueRetention}. */
export interface QueueRetentionOptions {
  /** Seconds completed records and queue events are kept. */
  retentionSeconds: number;
  /** Where a failed sweep is reported. */
  log: HostLogger;
}

/**
 * Removes what finished work leaves in the queues once its retention passed: completed records
 * (BullMQ's own `removeOnComplete` age only acts when another job of the queue completes, so the
 * last ones of a quiet queue would stay for good) and the entries of the queues' BullMQ event
 * streams (capped by count, which a quiet queue never reaches). One sweep per min(retention, 60 s).
 * Failed records are left alone: they are kept longer on purpose, for post-mortems.
 */
export class QueueRetention {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly queues: readonly Queue[],
    private readonly opts: QueueRetentionOptions,
  ) {
    if (!Number.isSafeInteger(opts.retentionSeconds) || opts.retentionSeconds < 1)
      throw new RangeError(`QueueRetention: retentionSeconds must be a positive whole number (got ${opts.retentionSeconds})`);
  }

  /** Sweeps now and then periodically until {@link stop}. */
  start(): void {
    const periodMs = Math.min(this.opts.retentionSeconds, QUEUE_RETENTION.maxSweepSeconds) * 1000;
    const tick = (): void => {
      this.sweep().catch((e: unknown) => this.opts.log('warn', `queue retention sweep: ${(e as Error).message}`));
    };
    tick();
    this.timer = setInterval(tick, periodMs);
    this.timer.unref();
  }

  /** Removes completed records and queue events older than the retention; returns how many of each. */
  async sweep(): Promise<{ records: number; events: number }> {
    const graceMs = this.opts.retentionSeconds * 1000;
    // Stream ids start with their time in ms: everything before this id is older than the retention.
    const minId = `${Date.now() - graceMs}-0`;
    let records = 0;
    let events = 0;
    for (const q of this.queues) {
      records += (await q.clean(graceMs, 10_000, 'completed')).length;
      events += await this.redis.xtrim(queueEventsKey(q.name as QueueName), 'MINID', minId);
    }
    return { records, events };
  }

  /** Stops sweeping. A sweep under way is not awaited: with Redis gone it would never end. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
