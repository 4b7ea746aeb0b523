import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { Queue, Worker } from 'bullmq';
import { ADAPTATION_TRANSFER_LABELS, BULLMQ_PREFIX, OTHER_TENANT, QUEUES, queueOptions, TRANSFER_DIRECTIONS } from '@cola/config';
import { backendMemory } from '@cola/gl';
import { ColaMetrics, collectQueueDepth } from '@cola/metrics';
import { AuxStateStore, CheckpointStore, PayloadRepublishStore, TensorStore } from '@cola/store';
import { JobStore } from '../jobs/job-store';
import type { JobsQueueData } from '../queues/jobs-queue-data';
import type { AdaptTaskData } from '../queues/adapt-task-data';
import { ClassifierHeads } from './classifier-heads';
import { FitTaskPublisher } from './fit-task-publisher';
import { HostAuxVersions } from './host-aux-versions';
import { HostContext } from './host-context';
import type { HostJobResult, HostServiceEvents } from './host-events';
import { HostLifecycle } from './host-lifecycle';
import { HostMemoryBudget } from './host-memory-budget';
import { HostPublishing } from './host-publishing';
import { HostScheduling } from './host-scheduling';
import { resolveHostServiceOptions, type HostServiceOptions } from './host-service-options';
import { HostStepping } from './host-stepping';
import { HostRepublishing } from './host-republishing';
import { QueueRetention } from './queue-retention';
import { JobIntake } from './job-intake';
import { JobOpening } from './job-opening';
import { RoundRobinScheduler } from './round-robin-scheduler';
import { TRANSFER_CHOICE_REASONS } from '../transfer/transfer-choice';
import { watchLoopBlocks, type LoopBlockWatch } from '../service/loop-block-watch';

/** BullMQ's own stalled-job check period: how soon a lapsed lock is noticed (never later than the lock). */
const STALLED_CHECK_MS = 30_000;

export type { HostJobResult, HostServiceEvents, JobEnd } from './host-events';
export { jobErrorOf } from './job-error';

/**
 * The gpu-host (docs/pipeline.md, "The gpu-host"): takes fine-tuning jobs from `QUEUES.jobs`,
 * schedules their batches round-robin, packs ready jobs that share a head and a sequence length
 * into mixed multi-tenant batches, runs the host step, buffers the adaptation data over the
 * interval I, publishes fit tasks (claim-check) with at most K in flight per job, reloads the
 * aux versions the trainers publish, evaluates each finished job and records its progress.
 *
 * One scheduler loop does all compute and all job state changes, so no two host steps, loads of
 * heads or evaluations ever interleave; the BullMQ processors only register jobs and wait.
 * Errors caused by a job fail that job with a reason and never stop the service.
 *
 * This class wires the parts together and owns the connections: intake (the processors),
 * opening (fresh or resumed jobs), scheduling (the loop), stepping, publishing, aux versions and
 * lifecycle (how jobs end), all sharing one {@link HostContext}.
 */
export class HostService extends EventEmitter<HostServiceEvents> {
  private readonly ctx: HostContext;
  private readonly lifecycle: HostLifecycle;
  private readonly stepping: HostStepping;
  private readonly scheduling: HostScheduling;
  private readonly intake: JobIntake;
  private redis: Redis | undefined;
  private bull: Redis | undefined;
  private adaptQueue: Queue<AdaptTaskData> | undefined;
  /** Queues whose depth is reported on scrape (besides `adapt`), closed with the service. */
  private depthQueues: Queue[] = [];
  private retention: QueueRetention | undefined;
  private loopWatch: LoopBlockWatch | undefined;
  private jobsWorker: Worker<JobsQueueData, HostJobResult> | undefined;
  private auxWorker: Worker | undefined;
  private loop: Promise<void> | undefined;

  constructor(options: HostServiceOptions) {
    super();
    const opts = resolveHostServiceOptions(options);
    const metrics = (opts.metrics ?? ColaMetrics.of()).registerService('gpu-host');
    this.ctx = new HostContext(
      opts,
      opts.model,
      new RoundRobinScheduler(opts.maxTenantsPerBatch),
      new ClassifierHeads(opts.model),
      metrics,
      new HostMemoryBudget(opts.model, opts.memoryBudgetMb),
      this,
    );
    // Read at scrape time, so the heap's growth toward the wasm32 ceiling is visible in Prometheus.
    metrics.gauge('hostBackendBytes', async (gauge) => {
      const mem = backendMemory();
      if (!mem) return;
      gauge.set({ kind: 'heap' }, mem.heapBytes);
      gauge.set({ kind: 'live' }, mem.liveBytes);
      gauge.set({ kind: 'peak' }, mem.peakBytes);
    });
    this.lifecycle = new HostLifecycle(this.ctx);
    this.stepping = new HostStepping(this.ctx, this.lifecycle, new HostPublishing(this.ctx, this.lifecycle));
    this.lifecycle.onEnd = (jobId) => this.stepping.forget(jobId);
    const auxVersions = new HostAuxVersions(this.ctx);
    this.scheduling = new HostScheduling(
      this.ctx,
      this.stepping,
      this.lifecycle,
      auxVersions,
      new HostRepublishing(this.ctx, this.stepping, this.lifecycle),
    );
    this.intake = new JobIntake(this.ctx, new JobOpening(this.ctx, this.lifecycle), this.lifecycle, auxVersions);
    // Start the labelled series at 0 (see ADAPTATION_TRANSFER_LABELS for why).
    for (const transfer of ADAPTATION_TRANSFER_LABELS) {
      metrics.counter('transferWrittenBytes').inc({ direction: TRANSFER_DIRECTIONS.hostToTrainer, ...transfer }, 0);
      metrics.counter('hostFitTasks').inc(transfer, 0);
      metrics.histogram('hostEncodeSeconds').zero(transfer);
      metrics.histogram('hostWriteSeconds').zero(transfer);
    }
    metrics.counter('hostTokens').inc({ tenant: OTHER_TENANT }, 0);
    metrics.counter('hostBatches').inc({ tenant: OTHER_TENANT }, 0);
    for (const transfer of ADAPTATION_TRANSFER_LABELS)
      for (const reason of TRANSFER_CHOICE_REASONS) metrics.counter('hostTransferChoices').inc({ ...transfer, reason }, 0);
  }

  /** Jobs currently trained by this host. */
  get activeJobIds(): string[] {
    return [...this.ctx.active.keys()];
  }

  /** Why the host cannot compute any more (its backend aborted), or undefined while it is live. */
  get failure(): string | undefined {
    return this.ctx.fatal;
  }

  /** The host's memory budget and accounting: bytes per row of a step, the backend heap. */
  get memory(): HostMemoryBudget {
    return this.ctx.budget;
  }

  /** Host steps run since start. */
  get steps(): number {
    return this.stepping.steps;
  }

  /**
   * Stops running host steps (jobs stay registered, statuses are still polled): a drain for
   * maintenance, and a way for tests to let several jobs register before the first step.
   */
  pause(): void {
    this.ctx.paused = true;
  }

  /** Runs host steps again after {@link pause}. */
  resume(): void {
    this.ctx.paused = false;
    this.ctx.wake();
  }

  /** Connects, starts both workers and the scheduler loop. */
  async start(): Promise<void> {
    if (this.loop) throw new Error('HostService already started');
    const opts = this.ctx.opts;
    const url = opts.redisUrl;
    this.redis = new Redis(url);
    // BullMQ's blocking connections need maxRetriesPerRequest: null.
    this.bull = new Redis(url, { maxRetriesPerRequest: null });
    const payloads = opts.payloads ?? new TensorStore(this.redis);
    this.adaptQueue = new Queue<AdaptTaskData>(QUEUES.adapt, { connection: this.bull, ...queueOptions(QUEUES.adapt) });
    this.ctx.connect({
      redis: this.redis,
      jobStore: new JobStore(this.redis),
      payloads,
      auxStore: opts.auxStore ?? new AuxStateStore(this.redis),
      checkpoints: new CheckpointStore(this.redis),
      republish: new PayloadRepublishStore(this.redis, { ttlSeconds: opts.payloadTtlSeconds }),
      publisher: new FitTaskPublisher(payloads, this.adaptQueue, opts.payloadTtlSeconds),
    });
    this.depthQueues = [QUEUES.jobs, QUEUES.auxPublishedHost, QUEUES.auxPublishedMerger].map(
      (q) => new Queue(q, { connection: this.bull!, ...queueOptions(q) }),
    );
    // The gpu-host is the one service that reports queue depth, so no series is scraped twice.
    collectQueueDepth(this.ctx.metrics, [this.adaptQueue, ...this.depthQueues]);
    // ...and the one that sweeps what finished work left in the queues.
    this.retention = new QueueRetention(this.redis, [this.adaptQueue, ...this.depthQueues], {
      retentionSeconds: opts.queueRetentionSeconds,
      log: opts.log,
    });
    this.retention.start();
    // Locks are renewed from the event loop, which each host step blocks: they must outlast the
    // longest step, or a job still training here is taken for stalled and delivered again.
    const locks = { lockDuration: opts.jobLockMs, stalledInterval: Math.min(opts.jobLockMs, STALLED_CHECK_MS) };
    this.jobsWorker = new Worker<JobsQueueData, HostJobResult>(QUEUES.jobs, (job, token) => this.intake.processJob(job, token), {
      connection: this.bull,
      prefix: BULLMQ_PREFIX,
      concurrency: opts.maxActiveJobs,
      // A host that dies mid-job leaves it stalled; the next host resumes it from the store.
      maxStalledCount: 3,
      ...locks,
    });
    this.auxWorker = new Worker(QUEUES.auxPublishedHost, (job) => this.intake.processAuxPublished(job), {
      connection: this.bull,
      prefix: BULLMQ_PREFIX,
      concurrency: 4,
      // Its announcements are handled on the same event loop: the same lock.
      ...locks,
    });
    // A block half as long as the jobs lock is a warning that the lock may lapse under more load.
    this.loopWatch = watchLoopBlocks({
      thresholdMs: opts.jobLockMs / 2,
      onBlock: (ms) =>
        opts.log(
          'warn',
          `event loop blocked for ${(ms / 1000).toFixed(1)} s, over half the jobs lock (${opts.jobLockMs / 1000} s): ` +
            "lower COLA_HOST_MEMORY_BUDGET_MB or the jobs' batch size, or raise COLA_HOST_JOB_LOCK_MS",
          { blockedMs: Math.round(ms), jobLockMs: opts.jobLockMs },
        ),
    });
    for (const w of [this.jobsWorker, this.auxWorker])
      w.on('error', (e) => opts.log('error', `worker error: ${e.message}`, { queue: w.name }));
    await Promise.all([this.jobsWorker.waitUntilReady(), this.auxWorker.waitUntilReady(), this.adaptQueue.waitUntilReady()]);
    this.loop = this.scheduling.run().then(() => {
      if (this.ctx.fatal) this.emit('fatal', { reason: this.ctx.fatal });
    });
    opts.log('info', 'gpu-host started', { maxActiveJobs: opts.maxActiveJobs, maxTenantsPerBatch: opts.maxTenantsPerBatch });
  }

  /**
   * Graceful stop: takes no new job, hands every active job back to the `jobs` queue (another
   * host, or this one after a restart, resumes it from the store head), then closes the
   * connections. Fit tasks in flight stay queued for the trainers.
   */
  async close(): Promise<void> {
    if (this.ctx.closing) return;
    this.ctx.closing = true;
    const workerClosed = this.jobsWorker?.close();
    this.ctx.wake();
    await this.loop;
    await workerClosed;
    await this.auxWorker?.close();
    this.retention?.stop();
    this.loopWatch?.stop();
    await this.adaptQueue?.close();
    for (const q of this.depthQueues) await q.close();
    this.ctx.heads.dispose();
    await Promise.all([this.redis, this.bull].map((c) => c?.quit().catch(() => c.disconnect())));
    this.ctx.opts.log('info', 'gpu-host stopped');
  }
}
