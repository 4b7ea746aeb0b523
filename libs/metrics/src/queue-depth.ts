import type { Queue } from 'bullmq';
import { QUEUE_STATES } from '@cola/config';
import type { ColaMetrics } from './cola-metrics';

/**
 * Exposes `cola_queue_jobs{queue,state}` for the given queues, read with BullMQ's
 * `Queue.getJobCounts` on every scrape (never polled in between, so an idle service does no
 * Redis work for it). `prioritized` is its own state: an autoscaler or an alert that only sums
 * `waiting` misses every job added with a priority (docs/design.md, "Queue payloads").
 */
export function collectQueueDepth(metrics: ColaMetrics, queues: readonly Queue[]): void {
  metrics.gauge('queueJobs', async (gauge) => {
    for (const queue of queues) {
      try {
        const counts = await queue.getJobCounts(...QUEUE_STATES);
        for (const state of QUEUE_STATES) gauge.set({ queue: queue.name, state }, counts[state] ?? 0);
      } catch {
        // Redis unreachable: drop the queue's series rather than report stale depths as current.
        for (const state of QUEUE_STATES) gauge.remove({ queue: queue.name, state });
      }
    }
  });
}
