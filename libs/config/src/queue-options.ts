import { BULLMQ_PREFIX, QUEUES, type QueueName } from './names';

// These mirror BullMQ's own option shapes structurally: libs/config may not import bullmq (module
// boundary rule), yet `new Queue(name, queueOptions(name, connection))` must type-check.

/** BullMQ `KeepJobs`: finished jobs kept by age and/or count. */
export interface KeepJobs {
  /** Seconds a finished job is kept (required, as in BullMQ's KeepJobs when a count is also given). */
  age: number;
  /** Number of finished jobs kept. */
  count?: number;
}

/** The subset of BullMQ `DefaultJobOptions` we set. */
export interface ColaJobOptions {
  /** Total tries of a job, the first one included. */
  attempts: number;
  /** Delay between tries: exponential from `delay` ms. */
  backoff: { type: 'exponential' | 'fixed'; delay: number };
  /** Completed jobs kept for debugging; the rest are removed so Redis does not grow. */
  removeOnComplete: KeepJobs;
  /** Failed jobs kept for post-mortems; the rest are removed. */
  removeOnFail: KeepJobs;
}

/** The subset of BullMQ `QueueOptions` we set. */
export interface ColaQueueOptions {
  /** Always {@link BULLMQ_PREFIX}. */
  prefix: string;
  /** Options applied to every job added to the queue. */
  defaultJobOptions: ColaJobOptions;
  /** BullMQ's own events stream (QueueEvents reads it), capped so it cannot grow unbounded. */
  streams: { events: { maxLen: number } };
}

/** Cap of each queue's BullMQ events stream (BullMQ's default is 10 000). */
export const QUEUE_EVENTS_MAX_LEN = 1000;

const DAY = 24 * 60 * 60;

/**
 * Default job options per queue.
 * - `jobs`: 1 attempt. A crashed gpu-host is handled by BullMQ's stalled-job check, and the job
 *   resumes from its checkpoint; re-running a fine-tuning job that failed for a reason (bad data)
 *   would only fail again.
 * - `adapt`: a few attempts with backoff: a fit can fail transiently (Redis failover, a conflict
 *   storm); it is idempotent thanks to the aux compare-and-set.
 * - aux-published queues: cheap, idempotent consumers; retry a few times.
 */
export const QUEUE_JOB_OPTIONS: Readonly<Record<QueueName, ColaJobOptions>> = {
  [QUEUES.jobs]: {
    attempts: 1,
    backoff: { type: 'exponential', delay: 5000 },
    removeOnComplete: { age: 7 * DAY, count: 1000 },
    removeOnFail: { age: 30 * DAY, count: 1000 },
  },
  [QUEUES.adapt]: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: { age: 60 * 60, count: 1000 },
    removeOnFail: { age: 7 * DAY, count: 5000 },
  },
  [QUEUES.auxPublishedMerger]: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: { age: 60 * 60, count: 1000 },
    removeOnFail: { age: 7 * DAY, count: 5000 },
  },
  [QUEUES.auxPublishedHost]: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: { age: 60 * 60, count: 1000 },
    removeOnFail: { age: 7 * DAY, count: 5000 },
  },
};

/**
 * The options every producer and worker of `queue` must use (spread your `connection` in).
 * Returns fresh objects, so callers may mutate them.
 */
export function queueOptions(queue: QueueName): ColaQueueOptions {
  const job = QUEUE_JOB_OPTIONS[queue];
  if (job === undefined) {
    throw new Error(`queueOptions(): unknown queue "${String(queue)}"; use one of QUEUES`);
  }
  return {
    prefix: BULLMQ_PREFIX,
    defaultJobOptions: {
      attempts: job.attempts,
      backoff: { ...job.backoff },
      removeOnComplete: { ...job.removeOnComplete },
      removeOnFail: { ...job.removeOnFail },
    },
    streams: { events: { maxLen: QUEUE_EVENTS_MAX_LEN } },
  };
}
