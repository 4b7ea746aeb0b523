import { Redis } from 'ioredis';
import { Queue, Worker } from 'bullmq';
import { BULLMQ_PREFIX, jobIds, keys, QUEUES, queueOptions } from '@cola/config';
import { disposeAdaptationData, glFitStep } from '@cola/gl';
import { AuxStateStore, TensorStore } from '@cola/store';
import { decodeJobAuxState, encodeJobAuxState, scheduleOf } from '../state/job-aux-state';
import { toAdaptationTask, validateAdaptTaskData, type AdaptTaskData } from '../queues/adapt-task-data';
import type { AuxPublishedData } from '../queues/aux-published-data';
import { decodeAdaptation } from '../transfer/adaptation-decoder';

/** Options of {@link InlineFitWorker}. */
export interface InlineFitWorkerOptions {
  /** Milliseconds to wait before each fit (a slow trainer, to exercise staleness). Default 0. */
  delayMs?: number;
  /** Called after each committed task. */
  onCommit?: (task: AdaptTaskData) => void;
}

/**
 * TEST SUPPORT, not exported: the smallest in-process aux-trainer that honours the contract the
 * gpu-host relies on (docs/pipeline.md, "The aux-trainer"): tasks applied once and in seq order
 * with compare-and-set, one glFitStep per layer at the schedule's rate, "aux published" to the
 * host's queue. It lets the host's tests run a whole job in one process against a real Redis;
 * the real trainer (src/trainer) is tested on its own and across processes in test/pipeline.
 */
export class InlineFitWorker {
  private readonly redis: Redis;
  private readonly bull: Redis;
  private readonly worker: Worker<AdaptTaskData>;
  private readonly published: Queue<AuxPublishedData>;
  private readonly tensors: TensorStore;
  private readonly aux: AuxStateStore;
  /** Tasks committed per job, counted before the version is announced. */
  readonly committed = new Map<string, number>();

  constructor(redisUrl: string, opts: InlineFitWorkerOptions = {}) {
    this.redis = new Redis(redisUrl);
    this.bull = new Redis(redisUrl, { maxRetriesPerRequest: null });
    this.tensors = new TensorStore(this.redis);
    this.aux = new AuxStateStore(this.redis);
    this.published = new Queue<AuxPublishedData>(QUEUES.auxPublishedHost, {
      connection: this.bull,
      ...queueOptions(QUEUES.auxPublishedHost),
    });
    this.worker = new Worker<AdaptTaskData>(
      QUEUES.adapt,
      async (job) => {
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
        const task = validateAdaptTaskData(job.data);
        await this.fit(task);
        opts.onCommit?.(task);
      },
      { connection: this.bull, prefix: BULLMQ_PREFIX, concurrency: 1 },
    );
  }

  private async fit(task: AdaptTaskData): Promise<void> {
    if ((await this.aux.appliedVersion(task.jobId, task.seq)) !== null) return;
    const head = await this.aux.head(task.jobId);
    if (head !== task.seq) throw new Error(`task ${task.seq} of ${task.jobId} is not next (head ${head}); retry`);
    const { layers } = decodeAdaptation(await this.tensors.get(task.payloadKey, task.sha256), toAdaptationTask(task));
    const state = decodeJobAuxState(await this.aux.load(task.jobId, head));
    let bytes: Uint8Array;
    const mergeable = state.adapters.mergeable;
    try {
      const schedule = scheduleOf(state);
      for (const [tap, data] of layers) {
        const { adapter, optimizer } = state.adapters.layers.get(tap)!;
        glFitStep(adapter, optimizer, data, { lr: schedule.lrAt(optimizer.stepCount), clipNorm: state.clipNorm });
      }
      bytes = encodeJobAuxState(state.adapters, {
        jobId: task.jobId,
        version: head + 1,
        schedule: state.schedule,
        clipNorm: state.clipNorm,
      });
    } finally {
      for (const d of layers.values()) disposeAdaptationData(d);
      state.adapters.dispose();
    }
    if ((await this.aux.commit(task.jobId, head, bytes, { seq: task.seq })) !== 'committed') return;
    this.committed.set(task.jobId, (this.committed.get(task.jobId) ?? 0) + 1);
    const event: AuxPublishedData = {
      jobId: task.jobId,
      tenantId: task.tenantId,
      version: head + 1,
      seq: task.seq,
      stateKey: keys.auxVersion(task.jobId, head + 1),
      mergeable,
      publishedAtMs: Date.now(),
    };
    await this.published.add('aux-published', event, { jobId: jobIds.auxPublished(task.jobId, head + 1) });
    await this.tensors.delete(task.payloadKey);
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.published.close();
    await Promise.all([this.redis.quit(), this.bull.quit()]);
  }
}
