import type { Redis } from 'ioredis';
import { assertId, assertIndex, keys } from '@cola/config';

/** One page of a job's checkpoint steps, newest first. */
export interface CheckpointPage {
  /** Steps on this page, newest (highest) first. */
  steps: number[];
  /** Whether older checkpoints follow. */
  hasMore: boolean;
}

/**
 * A job's checkpoints: copies of its aux state blob (weights and optimizer slots, as the
 * aux-trainers committed them) at host steps, kept while the job exists, whereas the aux store
 * lets superseded versions expire. `keys.jobCheckpoints` lists the steps (score = step), one
 * binary key per step holds the blob. The gpu-host writes them; the gateway lists and exports
 * them; nobody else touches these keys.
 */
export class CheckpointStore {
  /** @param redis a connected ioredis client; the caller owns its lifecycle. */
  constructor(private readonly redis: Redis) {}

  /** Saves the aux state reached after `step` host batches; idempotent. */
  async save(jobId: string, step: number, auxState: Uint8Array): Promise<void> {
    assertId('jobId', jobId);
    await this.redis
      .multi()
      .set(keys.jobCheckpoint(jobId, step), Buffer.from(auxState.buffer, auxState.byteOffset, auxState.byteLength))
      .zadd(keys.jobCheckpoints(jobId), step, String(assertIndex('step', step)))
      .exec();
  }

  /** Steps with a checkpoint, ascending. */
  async steps(jobId: string): Promise<number[]> {
    return (await this.redis.zrange(keys.jobCheckpoints(jobId), 0, -1)).map(Number);
  }

  /**
   * Up to `limit` steps, newest first, after the step `after` (exclusive), or null when `after`
   * is not a checkpoint of this job. Ranks are looked up at read time, so checkpoints added
   * meanwhile neither repeat nor get skipped.
   */
  async page(jobId: string, after: number | undefined, limit: number): Promise<CheckpointPage | null> {
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`CheckpointStore.page: limit must be an integer >= 1 (got ${limit})`);
    const key = keys.jobCheckpoints(jobId);
    let start = 0;
    if (after !== undefined) {
      const rank = await this.redis.zrevrank(key, String(after));
      if (rank === null) return null;
      start = rank + 1;
    }
    // One extra item tells whether there is a next page.
    const steps = (await this.redis.zrevrange(key, start, start + limit)).map(Number);
    return { steps: steps.slice(0, limit), hasMore: steps.length > limit };
  }

  /** The aux state blob saved at `step`, or null. */
  async load(jobId: string, step: number): Promise<Uint8Array | null> {
    const b = await this.redis.getBuffer(keys.jobCheckpoint(jobId, step));
    return b ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : null;
  }
}
