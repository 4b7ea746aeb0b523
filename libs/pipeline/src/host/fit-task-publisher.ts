import type { Queue } from 'bullmq';
import { jobIds, keys } from '@cola/config';
import { disposeAdaptationData } from '@cola/gl';
import type { AdaptTaskData } from '../queues/adapt-task-data';
import { planAdaptation } from '../transfer/adaptation-encoder';
import type { TransferSpec } from '../transfer/transfer-spec';
import type { FitPayload } from './host-job';
import type { HostPayloadStore } from './stores';

/** Who a fit task belongs to and how it travels. */
export interface FitTaskOwner {
  jobId: string;
  tenantId: string;
  transfer: TransferSpec;
}

/** What publishing one fit task cost. */
export interface PublishReport {
  /** Encoded payload bytes. */
  bytes: number;
  /**
   * Milliseconds of the encode stage: the X^T G reductions of the task's batches (gram mode) plus
   * the dtype conversion and protobuf of the payload.
   */
  encodeMs: number;
  /** Milliseconds spent writing the payload and adding the task. */
  writeMs: number;
}

/** A stored payload's reference. */
type StoredPayload = Awaited<ReturnType<HostPayloadStore['putLeased']>>;

/** Queue states of a task that an aux-trainer has not finished yet. */
const PENDING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'active']);

/**
 * Publishes fit tasks with the claim-check pattern (docs/pipeline.md, "The gpu-host", step 4):
 * the encoded AdaptationBatch goes to `keys.payload(job, seq)` with a TTL and a checksum, then a
 * BullMQ job on `QUEUES.adapt` carries only the reference, with the deterministic id
 * `jobIds.adapt(job, seq)` so a re-published task is never queued twice.
 */
export class FitTaskPublisher {
  constructor(
    private readonly payloads: HostPayloadStore,
    private readonly queue: Queue<AdaptTaskData>,
    private readonly ttlSeconds: number,
  ) {}

  /** Encodes, stores and queues one fit task; disposes the payload's tensors. */
  async publish(owner: FitTaskOwner, p: FitPayload): Promise<PublishReport> {
    const { ref, report } = await this.store(owner, p, keys.payload(owner.jobId, p.seq));
    const t1 = performance.now();
    const data: AdaptTaskData = {
      jobId: owner.jobId,
      tenantId: owner.tenantId,
      seq: p.seq,
      auxVersion: p.auxVersion,
      payloadKey: ref.key,
      size: ref.size,
      sha256: ref.sha256,
    };
    await this.queue.add('adapt', data, { jobId: jobIds.adapt(owner.jobId, p.seq) });
    return { ...report, writeMs: report.writeMs + performance.now() - t1 };
  }

  /**
   * Encodes and stores a fit task whose payload expired unread under the key of re-publication
   * `attempt` (the task itself is still queued); disposes the payload's tensors. Returns where.
   */
  async republish(owner: FitTaskOwner, p: FitPayload, attempt: number): Promise<StoredPayload & PublishReport> {
    const { ref, report } = await this.store(owner, p, keys.republishedPayload(owner.jobId, p.seq, attempt));
    return { ...ref, ...report };
  }

  private async store(owner: FitTaskOwner, p: FitPayload, key: string): Promise<{ ref: StoredPayload; report: PublishReport }> {
    const t0 = performance.now();
    // Encoded straight into a pooled frame: no fresh multi-MB buffer and no second copy per payload.
    let lease: ReturnType<HostPayloadStore['lease']>;
    try {
      const plan = planAdaptation(
        {
          jobId: owner.jobId,
          tenantId: owner.tenantId,
          seq: p.seq,
          auxVersion: p.auxVersion,
          numBatches: p.numBatches,
          tokens: p.tokens,
          loss: p.loss,
        },
        p.layers,
        owner.transfer,
      );
      try {
        lease = this.payloads.lease(plan.size);
        try {
          plan.write(lease.data);
        } catch (e) {
          lease.release();
          throw e;
        }
      } finally {
        plan.dispose();
      }
    } finally {
      for (const d of p.layers.values()) disposeAdaptationData(d);
    }
    const t1 = performance.now();
    const ref = await this.payloads.putLeased(key, lease, this.ttlSeconds);
    return { ref, report: { bytes: ref.size, encodeMs: p.gramMs + (t1 - t0), writeMs: performance.now() - t1 } };
  }

  /**
   * Counts the fit tasks from `fromSeq` on (up to `toSeq`, exclusive) that are still queued or
   * running, stopping at the first gap: on resume those are in flight and their data must not be
   * computed again. A finished-but-failed task in the way is removed, so it can be re-published.
   */
  async pendingFrom(jobId: string, fromSeq: number, toSeq: number): Promise<number> {
    let n = 0;
    for (let seq = fromSeq; seq < toSeq; seq++) {
      const task = await this.queue.getJob(jobIds.adapt(jobId, seq));
      if (!task) break;
      const state = await task.getState();
      // Completed means applied: the head has moved past it since we read it.
      if (PENDING_STATES.has(state) || state === 'completed') {
        n++;
        continue;
      }
      await task.remove().catch(() => undefined);
      break;
    }
    return n;
  }

  /**
   * Withdraws a job's fit tasks [fromSeq, toSeq) that no trainer has started, and deletes their
   * payloads (cancel). A task already running is left to finish: its commit is harmless.
   * Returns how many tasks were removed.
   */
  async withdraw(jobId: string, fromSeq: number, toSeq: number): Promise<number> {
    let removed = 0;
    for (let seq = fromSeq; seq < toSeq; seq++) {
      const task = await this.queue.getJob(jobIds.adapt(jobId, seq));
      const state = task ? await task.getState() : 'unknown';
      if (state === 'active') continue;
      if (task && state !== 'completed') {
        try {
          await task.remove();
          removed++;
        } catch {
          // Taken by a trainer in the meantime (locked): let it finish.
          continue;
        }
      }
      await this.payloads.delete(keys.payload(jobId, seq));
    }
    return removed;
  }
}
