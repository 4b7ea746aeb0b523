import type { Redis } from 'ioredis';
import { keys } from '@cola/config';

/**
 * A job's checkpoints: copies of its aux state blob (weights and optimizer slots, as the
 * aux-trainers committed them) at host steps, kept until the job is deleted, while the aux
 * store lets superseded versions expire. `keys.jobCheckpoints` lists the steps (score = step).
 */
export class JobCheckpoints {
  constructor(private readonly redis: Redis) {}

  /** Saves the aux state reached after `step` host batches; idempotent. */
  async save(jobId: string, step: number, auxState: Uint8Array): Promise<void> {
    await this.redis
      .multi()
      .set(keys.jobCheckpoint(jobId, step), Buffer.from(auxState.buffer, auxState.byteOffset, auxState.byteLength))
      .zadd(keys.jobCheckpoints(jobId), step, String(step))
      .exec();
  }

  /** Steps with a checkpoint, ascending. */
  async steps(jobId: string): Promise<number[]> {
    return (await this.redis.zrange(keys.jobCheckpoints(jobId), 0, -1)).map(Number);
  }

  /** The aux state blob saved at `step`, or null. */
  async load(jobId: string, step: number): Promise<Uint8Array | null> {
    const b = await this.redis.getBuffer(keys.jobCheckpoint(jobId, step));
    return b ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : null;
  }
}
