import { Queue, type ConnectionOptions } from 'bullmq';
import { AUX_PUBLISHED_QUEUES, jobIds, queueOptions, type QueueName } from '@cola/config';
import type { AuxPublishedData } from '../queues/aux-published-data';

/** Announces a new aux version to its consumers. */
export interface AuxPublisher {
  /** Adds "aux published" to every consumer queue; idempotent per (job, version). */
  publish(data: AuxPublishedData): Promise<void>;
}

/**
 * Fans "aux published" out to every queue of `AUX_PUBLISHED_QUEUES` (a BullMQ job reaches one
 * worker, and both the merger and the gpu-host must see every version). The deterministic job id
 * `jobIds.auxPublished(job, version)` makes a re-publish after a crash a no-op while the first
 * event is still in the queue.
 */
export class AuxPublishedPublisher implements AuxPublisher {
  private readonly queues: Queue<AuxPublishedData>[];

  constructor(connection: ConnectionOptions, queues: readonly QueueName[] = AUX_PUBLISHED_QUEUES) {
    this.queues = queues.map((name) => new Queue<AuxPublishedData>(name, { connection, ...queueOptions(name) }));
  }

  async publish(data: AuxPublishedData): Promise<void> {
    const id = jobIds.auxPublished(data.jobId, data.version);
    await Promise.all(this.queues.map((q) => q.add('aux-published', data, { jobId: id })));
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
