import { EventEmitter } from 'node:events';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import {
  ADAPTATION_TRANSFER_LABELS,
  AUX_RETENTION,
  BULLMQ_PREFIX,
  OptionChecks,
  QUEUES,
  STATE_TRANSFER,
  TRANSFER_DIRECTIONS,
  TTLS,
} from '@cola/config';
import { ColaMetrics } from '@cola/metrics';
import { AuxStateStore, PayloadRepublishStore, TensorStore } from '@cola/store';
import { JobStore } from '../jobs/job-store';
import { AdaptTaskDataError, validateAdaptTaskData, type AdaptTaskData } from '../queues/adapt-task-data';
import { AuxPublishedPublisher } from './aux-published-publisher';
import { FitTaskNotReadyError, FitTaskRejectedError } from './fit-task-errors';
import { FitTaskProcessor, type FitTaskOutcome } from './fit-task-processor';
import type { HostLogger } from '../service/logger';

/** Options of {@link AuxTrainerService}. */
export interface AuxTrainerServiceOptions {
  /** Redis URL (queues, payloads, aux state and job records all live there). */
  redisUrl: string;
  /** Fit tasks this process runs at once. Default 1: a fit step is CPU-bound and tfjs is single-threaded. */
  concurrency: number;
  /** Jobs whose decoded aux state stays live between tasks (0 disables the cache). Default 16. */
  cacheJobs: number;
  /** Newest aux versions of a job kept without a TTL; older ones expire. Default `AUX_RETENTION.keepVersions`. */
  keepVersions: number;
  /** First delay before an out-of-order task is tried again, in ms; doubles per try. Default 50. */
  retryDelayMs: number;
  /** Cap of that delay, in ms. Default 2000. */
  maxRetryDelayMs: number;
  /**
   * How long a task may wait for its predecessor, or for its expired payload to be published
   * again (counted from the request), before its job is failed, in ms. Default: the payload TTL.
   */
  maxOrderWaitMs: number;
  /** Where log lines go (the same JSON-lines logger as the gpu-host's). Default: nowhere. */
  log: HostLogger;
  /**
   * BullMQ lock of a running fit task, in ms, and the stalled-task check interval. A trainer that
   * dies (SIGKILL, OOM, node loss) holds its task until the lock expires; then another trainer
   * takes it over. Default 30000 (BullMQ's); tests shorten it.
   */
  lockMs: number;
  /**
   * Milliseconds each fit task waits before it runs: emulates a slower trainer, so that the
   * gpu-host's staleness window (K tasks in flight) fills up in tests and benches. Default 0.
   */
  fitDelayMs: number;
  /**
   * Where the stage timings, bytes, fit steps, failures and queue waits are recorded (the trainer's share of the communication overhead).
   * Default: a private registry nobody scrapes (the app passes its process registry).
   */
  metrics?: ColaMetrics;
}

/** `reason` label values of `cola_trainer_fit_failures_total`. */
export const FAILURE_REASONS = ['invalid_payload', 'fit_task_timeout', 'invalid_task', 'error'] as const;

/** Defaults of {@link AuxTrainerServiceOptions}. */
export const DEFAULT_AUX_TRAINER_OPTIONS: Readonly<Omit<AuxTrainerServiceOptions, 'redisUrl'>> = {
  concurrency: 1,
  cacheJobs: 16,
  keepVersions: AUX_RETENTION.keepVersions,
  retryDelayMs: 50,
  maxRetryDelayMs: 2000,
  maxOrderWaitMs: TTLS.payloadSeconds * 1000,
  log: () => undefined,
  lockMs: 30_000,
  fitDelayMs: 0,
};

/** Typed events of {@link AuxTrainerService}. */
export interface AuxTrainerServiceEvents {
  /** A task was taken from the queue and is about to run. */
  active: [task: AdaptTaskData];
  /** A task was applied, or acknowledged as applied before. */
  processed: [outcome: FitTaskOutcome];
  /** A task was refused for good (its training job is failed). */
  rejected: [task: AdaptTaskData, error: FitTaskRejectedError];
  /** A task was put back to wait for its predecessor or after a lost compare-and-set. */
  delayed: [task: AdaptTaskData, delayMs: number];
}

function validateOptions(o: AuxTrainerServiceOptions): void {
  new OptionChecks()
    .redisUrl('redisUrl', o.redisUrl)
    .int('concurrency', o.concurrency, { min: 1 })
    .int('cacheJobs', o.cacheJobs, { min: 0 })
    .int('keepVersions', o.keepVersions, { min: 1 })
    .int('retryDelayMs', o.retryDelayMs, { min: 1 })
    .int('maxRetryDelayMs', o.maxRetryDelayMs, { min: 1 })
    .int('maxOrderWaitMs', o.maxOrderWaitMs, { min: 1 })
    .int('lockMs', o.lockMs, { min: 1000 })
    .int('fitDelayMs', o.fitDelayMs, { min: 0 })
    .throwIfAny((problems) => new RangeError(`AuxTrainerService options: ${problems.join('; ')}`));
}

/**
 * The aux-trainer: a BullMQ Worker on `QUEUES.adapt` running the {@link FitTaskProcessor}.
 * Any number of these may run against one Redis; the store's compare-and-set keeps every job
 * consistent. `close()` (on SIGTERM) lets the running tasks finish before it returns.
 */
export class AuxTrainerService extends EventEmitter<AuxTrainerServiceEvents> {
  readonly options: Readonly<AuxTrainerServiceOptions>;
  private readonly redis: Redis;
  private readonly publisher: AuxPublishedPublisher;
  private readonly processor: FitTaskProcessor;
  private worker: Worker<AdaptTaskData, FitTaskOutcome> | undefined;
  private closing: Promise<void> | undefined;
  private readonly metrics: ColaMetrics;

  constructor(opts: Partial<AuxTrainerServiceOptions> & Pick<AuxTrainerServiceOptions, 'redisUrl'>) {
    super();
    this.options = { ...DEFAULT_AUX_TRAINER_OPTIONS, ...opts };
    validateOptions(this.options);
    // BullMQ needs maxRetriesPerRequest: null on connections that block; one setting for all.
    this.redis = new Redis(this.options.redisUrl, { maxRetriesPerRequest: null });
    this.publisher = new AuxPublishedPublisher(this.redis);
    this.processor = new FitTaskProcessor(
      {
        payloads: new TensorStore(this.redis),
        republish: new PayloadRepublishStore(this.redis),
        aux: new AuxStateStore(this.redis, { keepVersions: this.options.keepVersions }),
        jobs: new JobStore(this.redis),
        publisher: this.publisher,
      },
      { cacheJobs: this.options.cacheJobs },
    );
    this.processor.on('rejected', (task, e) => this.emit('rejected', task, e));
    this.processor.on('processed', (o) => {
      this.record(o);
      this.emit('processed', o);
    });
    this.metrics = (this.options.metrics ?? ColaMetrics.of()).registerService('aux-trainer');
    // Every failure reason exists at 0 from the start, so increase() in the alert rule has data.
    for (const reason of FAILURE_REASONS) this.metrics.counter('trainerFailures').inc({ reason }, 0);
    // The stage series of the overhead ratio start at 0 too (see ADAPTATION_TRANSFER_LABELS).
    this.metrics.histogram('queueWaitSeconds').zero({ queue: QUEUES.adapt });
    for (const transfer of ADAPTATION_TRANSFER_LABELS) {
      this.metrics.histogram('trainerDecodeSeconds').zero(transfer);
      this.metrics.counter('transferReadBytes').inc({ direction: TRANSFER_DIRECTIONS.hostToTrainer, ...transfer }, 0);
    }
  }

  /** True while the worker is running (the /healthz answer). */
  get running(): boolean {
    return this.worker?.isRunning() === true && this.closing === undefined;
  }

  /** Starts consuming fit tasks; resolves once the worker is connected. */
  async start(): Promise<void> {
    if (this.worker) throw new Error('AuxTrainerService.start(): already started');
    const { log } = this.options;
    this.worker = new Worker<AdaptTaskData, FitTaskOutcome>(QUEUES.adapt, (job, token) => this.run(job, token), {
      connection: this.redis,
      prefix: BULLMQ_PREFIX,
      concurrency: this.options.concurrency,
      lockDuration: this.options.lockMs,
      stalledInterval: this.options.lockMs,
      autorun: false,
    });
    this.worker.on('failed', (job, err) => {
      if (!job || err instanceof DelayedError) return;
      // A rejected payload or an order timeout fails its training job; any other error is retried.
      const reason = err instanceof FitTaskRejectedError ? err.code : err instanceof UnrecoverableError ? 'invalid_task' : 'error';
      this.metrics.counter('trainerFailures').inc({ reason });
      log(err instanceof UnrecoverableError ? 'warn' : 'error', 'fit task failed', {
        jobId: job.data.jobId,
        seq: job.data.seq,
        attempts: job.attemptsMade,
        error: err.message,
      });
    });
    this.worker.on('error', (err) => log('error', 'worker error', { error: err.message }));
    void this.worker.run();
    await this.worker.waitUntilReady();
    log('info', 'aux-trainer started', { queue: QUEUES.adapt, concurrency: this.options.concurrency });
  }

  /**
   * Stops taking tasks, waits for the running ones, then closes every connection and frees the
   * cached states. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.worker?.close();
      await this.publisher.close();
      this.processor.close();
      await this.redis.quit().catch(() => this.redis.disconnect());
      this.options.log('info', 'aux-trainer stopped');
    })();
    return this.closing;
  }

  private async run(job: Job<AdaptTaskData, FitTaskOutcome>, token: string | undefined): Promise<FitTaskOutcome> {
    let task: AdaptTaskData;
    try {
      task = validateAdaptTaskData(job.data);
    } catch (e) {
      // Nobody can fix a malformed queue entry by retrying it; its job id names the culprit.
      if (e instanceof AdaptTaskDataError) throw new UnrecoverableError(`adapt job ${job.id}: ${e.message}`);
      throw e;
    }
    // Enqueue to first start; later starts (after a delay for a predecessor) are not queue wait.
    if (job.attemptsStarted <= 1)
      this.metrics.observeMs('queueWaitSeconds', (job.processedOn ?? Date.now()) - job.timestamp, { queue: QUEUES.adapt });
    this.emit('active', task);
    if (this.options.fitDelayMs > 0) await new Promise((r) => setTimeout(r, this.options.fitDelayMs));
    try {
      const outcome = await this.processor.process(task);
      this.options.log('debug', 'fit task done', { ...outcome });
      return outcome;
    } catch (e) {
      if (!(e instanceof FitTaskNotReadyError)) throw e;
      const waited = Date.now() - (e.waitingSinceMs ?? job.timestamp);
      if (waited > this.options.maxOrderWaitMs) {
        const what = e.reason === 'payload-missing' ? 'for its payload to be published again' : 'for its predecessor';
        const message = `fit task ${task.seq} of job ${task.jobId} waited ${Math.round(waited / 1000)} s ${what}: ${e.message}`;
        await new JobStore(this.redis).fail(task.jobId, 'aux-trainer', { code: 'fit_task_timeout', message, param: null }, message);
        throw new FitTaskRejectedError(message, 'fit_task_timeout');
      }
      // Waiting for a predecessor is normal with K > 1 in flight: delay the job instead of
      // failing an attempt, so the attempts budget stays for real (transient) failures.
      const tries = Math.max(0, job.attemptsStarted - 1);
      const delay = Math.min(this.options.maxRetryDelayMs, this.options.retryDelayMs * 2 ** Math.min(tries, 20));
      this.metrics.counter('trainerDelays').inc();
      this.emit('delayed', task, delay);
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }
  }

  /** Records a handled fit task: its stage timings and the bytes it moved. */
  private record(o: FitTaskOutcome): void {
    const m = this.metrics;
    m.counter('trainerFitSteps').inc({ outcome: o.status });
    const st = o.stages;
    if (!st) return;
    m.observeMs('trainerDecodeSeconds', st.decodeMs, st.transfer);
    m.observeMs('trainerStateLoadSeconds', st.stateLoadMs, { cache: o.cacheHit ? 'hit' : 'miss' });
    m.observeMs('trainerFitSeconds', st.fitMs);
    m.observeMs('trainerStateWriteSeconds', st.stateWriteMs);
    m.counter('transferReadBytes').inc({ direction: TRANSFER_DIRECTIONS.hostToTrainer, ...st.transfer }, st.payloadBytes);
    if (st.stateReadBytes > 0)
      m.counter('transferReadBytes').inc({ direction: TRANSFER_DIRECTIONS.trainerState, ...STATE_TRANSFER }, st.stateReadBytes);
    m.counter('transferWrittenBytes').inc({ direction: TRANSFER_DIRECTIONS.trainerToHost, ...STATE_TRANSFER }, st.stateWrittenBytes);
  }
}
