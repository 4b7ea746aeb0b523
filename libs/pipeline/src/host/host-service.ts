import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import {
  ADAPTATION_TRANSFER_LABELS,
  BULLMQ_PREFIX,
  OTHER_TENANT,
  QUEUES,
  queueOptions,
  STATE_TRANSFER,
  TRANSFER_DIRECTIONS,
} from '@cola/config';
import { ColaMetrics, collectQueueDepth } from '@cola/metrics';
import { LinearSchedule, tf } from '@cola/gl';
import { resolveTaps, type GptModel } from '@cola/model';
import { createRunAdapters, type TaskBatch } from '@cola/train';
import { JsonlError } from '@cola/data';
import { AuxStateStore, TensorStore } from '@cola/store';
import { FINAL_STATUSES, JobFailure, TrainingDivergedError, type JobError, type JobStatus } from '../jobs/job-status';
import { JobSpecError, validateJobSpec } from '../jobs/job-spec';
import { JobStore, type JobRecord } from '../jobs/job-store';
import { readUpload } from '../jobs/uploads';
import type { JobsQueueData } from '../jobs/submit-job';
import { decodeJobAuxState, encodeJobAuxState } from '../state/job-aux-state';
import type { AdaptTaskData } from '../trainer/adapt-task-data';
import { validateAuxPublishedData } from '../trainer/aux-published-data';
import { BatchCursor } from './batch-cursor';
import { evaluateInChunks } from './chunked-evaluation';
import { ClassifierHeads, LM_HEAD } from './classifier-heads';
import { FitTaskPublisher } from './fit-task-publisher';
import { HostJob, type StopReason } from './host-job';
import { resolveHostServiceOptions, type HostServiceOptions, type ResolvedHostServiceOptions } from './host-service-options';
import { runHostStep, type StepOutcome, type StepPart } from './host-step-runner';
import { JobAux } from './job-aux';
import { JobCheckpoints } from './job-checkpoints';
import { buildJobTaskData, JobDataError } from './job-task-data';
import { RoundRobinScheduler } from './round-robin-scheduler';
import type { HostAuxStore, HostPayloadStore } from './stores';

/** How a job left this host. `requeued`: the host is shutting down; another host resumes it. */
export type JobEnd = Exclude<StopReason, 'requeued'> | 'succeeded' | 'requeued';

/** Typed events of {@link HostService}, for tests, metrics and logs. */
export interface HostServiceEvents {
  /** A job was registered and will be scheduled. */
  started: [{ jobId: string; step: number; nextSeq: number; auxVersion: number; numTasks: number }];
  /** One host step ran (one or several tenants). */
  step: [{ jobIds: string[]; rows: number; ms: number }];
  /** A fit task was published. */
  published: [{ jobId: string; seq: number; auxVersion: number; bytes: number; encodeMs: number; writeMs: number }];
  /** A newer aux version was loaded for a job. */
  aux: [{ jobId: string; version: number }];
  /** A job left the host. */
  ended: [{ jobId: string; status: JobEnd; error?: JobError }];
}

/** The `jobs` queue job's result. */
export interface HostJobResult {
  status: JobStatus | 'missing';
}

interface ActiveEntry {
  job: HostJob;
  resolve: (end: JobEnd) => void;
  /** Settles when the job leaves the host. */
  ended: Promise<JobEnd>;
  /** Serialises aux reloads of the job. */
  auxChain: Promise<void>;
  lastEventStep: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Maps what went wrong while opening or running a job to the error the tenant sees, by meaning:
 * errors that know their failure (JobFailure, a bad spec, a bad file) say so; anything else is ours.
 */
export function jobErrorOf(e: unknown): JobError {
  if (e instanceof JobFailure) return e.toJobError();
  if (e instanceof JobSpecError) return { code: 'invalid_job_spec', message: e.message, param: e.param };
  if (e instanceof JobDataError)
    return {
      code: e.param === 'validation_file' ? 'invalid_validation_file' : 'invalid_training_file',
      message: e.message,
      param: e.param,
    };
  if (e instanceof JsonlError) return { code: 'invalid_training_file', message: e.message, param: 'training_file' };
  return { code: 'internal_error', message: e instanceof Error ? e.message : String(e), param: null };
}

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
 */
export class HostService extends EventEmitter<HostServiceEvents> {
  private readonly opts: ResolvedHostServiceOptions;
  private readonly model: GptModel;
  private readonly active = new Map<string, ActiveEntry>();
  private readonly scheduler: RoundRobinScheduler<HostJob>;
  private readonly heads: ClassifierHeads;
  private redis: Redis | undefined;
  private bull: Redis | undefined;
  private jobStore!: JobStore;
  private payloads!: HostPayloadStore;
  private auxStore!: HostAuxStore;
  private checkpoints!: JobCheckpoints;
  private publisher!: FitTaskPublisher;
  private adaptQueue: Queue<AdaptTaskData> | undefined;
  /** Queues whose depth is reported on scrape (besides `adapt`), closed with the service. */
  private depthQueues: Queue[] = [];
  private readonly metrics: ColaMetrics;
  private jobsWorker: Worker<JobsQueueData, HostJobResult> | undefined;
  private auxWorker: Worker | undefined;
  private loop: Promise<void> | undefined;
  private closing = false;
  private paused = false;
  private wakeUp: (() => void) | undefined;
  private lastPoll = 0;
  private stepsRun = 0;
  private mixedSteps = 0;
  /** Jobs whose first mixed batch was logged (forgotten when they end). */
  private readonly mixedJobs = new Set<string>();

  constructor(options: HostServiceOptions) {
    super();
    this.opts = resolveHostServiceOptions(options);
    this.model = this.opts.model;
    this.scheduler = new RoundRobinScheduler(this.opts.maxTenantsPerBatch);
    this.heads = new ClassifierHeads(this.model);
    this.metrics = (this.opts.metrics ?? ColaMetrics.of()).registerService('gpu-host');
    // Start the labelled series at 0 (see ADAPTATION_TRANSFER_LABELS for why).
    for (const transfer of ADAPTATION_TRANSFER_LABELS) {
      this.metrics.counter('transferWrittenBytes').inc({ direction: TRANSFER_DIRECTIONS.hostToTrainer, ...transfer }, 0);
      this.metrics.counter('hostFitTasks').inc(transfer, 0);
      this.metrics.histogram('hostEncodeSeconds').zero(transfer);
      this.metrics.histogram('hostWriteSeconds').zero(transfer);
    }
    this.metrics.counter('hostTokens').inc({ tenant: OTHER_TENANT }, 0);
    this.metrics.counter('hostBatches').inc({ tenant: OTHER_TENANT }, 0);
  }

  /** Jobs currently trained by this host. */
  get activeJobIds(): string[] {
    return [...this.active.keys()];
  }

  /** Host steps run since start. */
  get steps(): number {
    return this.stepsRun;
  }

  /**
   * Stops running host steps (jobs stay registered, statuses are still polled): a drain for
   * maintenance, and a way for tests to let several jobs register before the first step.
   */
  pause(): void {
    this.paused = true;
  }

  /** Runs host steps again after {@link pause}. */
  resume(): void {
    this.paused = false;
    this.wake();
  }

  /** Connects, starts both workers and the scheduler loop. */
  async start(): Promise<void> {
    if (this.loop) throw new Error('HostService already started');
    const url = this.opts.redisUrl;
    this.redis = new Redis(url);
    // BullMQ's blocking connections need maxRetriesPerRequest: null.
    this.bull = new Redis(url, { maxRetriesPerRequest: null });
    this.jobStore = new JobStore(this.redis);
    this.payloads = this.opts.payloads ?? new TensorStore(this.redis);
    this.auxStore = this.opts.auxStore ?? new AuxStateStore(this.redis);
    this.checkpoints = new JobCheckpoints(this.redis);
    this.adaptQueue = new Queue<AdaptTaskData>(QUEUES.adapt, { connection: this.bull, ...queueOptions(QUEUES.adapt) });
    this.publisher = new FitTaskPublisher(this.payloads, this.adaptQueue, this.opts.payloadTtlSeconds);
    this.depthQueues = [QUEUES.jobs, QUEUES.auxPublishedHost, QUEUES.auxPublishedMerger].map(
      (q) => new Queue(q, { connection: this.bull!, ...queueOptions(q) }),
    );
    // The gpu-host is the one service that reports queue depth, so no series is scraped twice.
    collectQueueDepth(this.metrics, [this.adaptQueue, ...this.depthQueues]);
    this.jobsWorker = new Worker<JobsQueueData, HostJobResult>(QUEUES.jobs, (job, token) => this.processJob(job, token), {
      connection: this.bull,
      prefix: BULLMQ_PREFIX,
      concurrency: this.opts.maxActiveJobs,
      // A host that dies mid-job leaves it stalled; the next host resumes it from the store.
      maxStalledCount: 3,
    });
    this.auxWorker = new Worker(QUEUES.auxPublishedHost, (job) => this.processAuxPublished(job), {
      connection: this.bull,
      prefix: BULLMQ_PREFIX,
      concurrency: 4,
    });
    for (const w of [this.jobsWorker, this.auxWorker])
      w.on('error', (e) => this.opts.log('error', `worker error: ${e.message}`, { queue: w.name }));
    await Promise.all([this.jobsWorker.waitUntilReady(), this.auxWorker.waitUntilReady(), this.adaptQueue.waitUntilReady()]);
    this.loop = this.runLoop();
    this.opts.log('info', 'gpu-host started', { maxActiveJobs: this.opts.maxActiveJobs, maxTenantsPerBatch: this.opts.maxTenantsPerBatch });
  }

  /**
   * Graceful stop: takes no new job, hands every active job back to the `jobs` queue (another
   * host, or this one after a restart, resumes it from the store head), then closes the
   * connections. Fit tasks in flight stay queued for the trainers.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const workerClosed = this.jobsWorker?.close();
    this.wake();
    await this.loop;
    await workerClosed;
    await this.auxWorker?.close();
    await this.adaptQueue?.close();
    for (const q of this.depthQueues) await q.close();
    this.heads.dispose();
    await Promise.all([this.redis, this.bull].map((c) => c?.quit().catch(() => c.disconnect())));
    this.opts.log('info', 'gpu-host stopped');
  }

  // ---------------------------------------------------------------- BullMQ processors

  private async processJob(bullJob: Job<JobsQueueData, HostJobResult>, token: string | undefined): Promise<HostJobResult> {
    const jobId = bullJob.data?.jobId;
    if (typeof jobId !== 'string' || !jobId) throw new UnrecoverableError(`jobs queue entry ${bullJob.id} has no jobId in its data`);
    const requeue = async (): Promise<never> => {
      await bullJob.moveToWait(token);
      throw new WaitingError();
    };
    if (this.closing) return requeue();
    const running = this.active.get(jobId);
    if (running) {
      // Redelivered while this host still trains it (a lock lost to a long block): the running
      // instance goes on; this delivery just reports how it ends.
      this.opts.log('warn', 'job delivered again while active here; waiting for the running instance', { jobId });
      const status = await running.ended;
      if (status === 'requeued') return requeue();
      return { status };
    }
    const record = await this.jobStore.get(jobId);
    if (!record) {
      this.opts.log('warn', 'job record not found; dropping the queue entry', { jobId });
      return { status: 'missing' };
    }
    if (FINAL_STATUSES.has(record.status)) return { status: record.status };
    const marked = await this.jobStore.transition(jobId, 'running', 'gpu-host');
    if (marked.from === 'cancelling') {
      await this.jobStore.transition(jobId, 'cancelled', 'gpu-host');
      await this.event(jobId, 'info', 'Job cancelled before it started');
      return { status: 'cancelled' };
    }
    if (!marked.changed) return { status: marked.from ?? 'missing' };
    let job: HostJob;
    try {
      job = await this.openJob(record);
    } catch (e) {
      const error = jobErrorOf(e);
      this.opts.log(error.code === 'internal_error' ? 'error' : 'warn', `job ${jobId} cannot start: ${error.message}`, {
        jobId,
        code: error.code,
      });
      const ended = await this.jobStore.finish(jobId, 'failed', 'gpu-host', error);
      if (ended === 'failed') await this.event(jobId, 'error', `Job failed: ${error.message}`);
      if (ended === 'cancelled') await this.event(jobId, 'info', 'Job cancelled before it started');
      const status = ended ?? (await this.jobStore.status(jobId)) ?? 'failed';
      this.emit('ended', status === 'failed' ? { jobId, status, error } : { jobId, status: status as JobEnd });
      return { status };
    }
    if (this.closing) {
      this.heads.release(job.headKey);
      job.dispose();
      return requeue();
    }
    if (this.active.has(jobId)) {
      // Another delivery registered it while this one was opening it.
      this.heads.release(job.headKey);
      job.dispose();
      const status = await this.active.get(jobId)!.ended;
      return status === 'requeued' ? requeue() : { status };
    }
    let resolveEnd!: (end: JobEnd) => void;
    const end = new Promise<JobEnd>((resolve) => (resolveEnd = resolve));
    this.active.set(jobId, { job, resolve: resolveEnd, ended: end, auxChain: Promise.resolve(), lastEventStep: job.step });
    this.scheduler.add(job);
    this.recordActive();
    this.emit('started', { jobId, step: job.step, nextSeq: job.nextSeq, auxVersion: job.auxVersion, numTasks: job.numTasks });
    this.wake();
    const status = await end;
    if (status === 'requeued') return requeue();
    return { status };
  }

  private async processAuxPublished(bullJob: Job): Promise<void> {
    let data;
    try {
      data = validateAuxPublishedData(bullJob.data);
    } catch (e) {
      throw new UnrecoverableError((e as Error).message);
    }
    const entry = this.active.get(data.jobId);
    // Another host's job, or one that ended: its next start reads the store head anyway.
    if (!entry) return;
    await this.refreshAux(data.jobId, data.version);
  }

  // ---------------------------------------------------------------- job start

  /** Reads the spec and files, sets up data, head, schedule and aux, and finds the resume point. */
  private async openJob(record: JobRecord): Promise<HostJob> {
    const v = validateJobSpec(record.spec);
    const o = v.options;
    const jobId = record.jobId;
    const train = await readUpload(this.redis!, v.spec.trainingFileId).catch((e: unknown) => {
      throw e instanceof JsonlError ? e : new JobDataError('training_file', (e as Error).message);
    });
    const validation = v.spec.validationFileId
      ? await readUpload(this.redis!, v.spec.validationFileId).catch((e: unknown) => {
          throw new JobDataError('validation_file', (e as Error).message);
        })
      : null;
    const data = buildJobTaskData(v, train, validation);
    const headKey = v.task === 'classification' ? this.heads.acquire(data.labels.length, o.seed) : LM_HEAD;
    try {
      // Same taps and order as createRunAdapters, with the job's head on the model.
      const taps = resolveTaps(this.model.config, o.targetModules);
      const perEpoch = data.train({ batchSize: o.batchSize, maxLength: o.maxLength, seed: o.seed, epoch: 0 }).numBatches;
      const totalBatches = Math.min(perEpoch * o.epochs, o.maxSteps ?? Infinity);
      const numTasks = Math.floor(totalBatches / o.interval);
      // Exactly finetune's schedule: one optimizer step per fit task, at least one.
      const schedule = new LinearSchedule({ peakLr: o.optimizer.lr, totalSteps: Math.max(1, numTasks), warmupFraction: o.warmupFraction });
      let head = await this.auxStore.head(jobId);
      if (head === null) {
        const adapters = createRunAdapters(this.model, o);
        let bytes: Uint8Array;
        try {
          bytes = encodeJobAuxState(adapters, {
            jobId,
            version: 0,
            schedule: { peakLr: schedule.peakLr, totalSteps: schedule.totalSteps, warmupSteps: schedule.warmupSteps },
            clipNorm: o.clipNorm,
          });
        } finally {
          adapters.dispose();
        }
        await this.auxStore.init(jobId, bytes);
        head = (await this.auxStore.head(jobId)) ?? 0;
      }
      const aux = JobAux.fromBytes(await this.auxStore.load(jobId, head), { merged: o.merged });
      try {
        // Tasks past the head still queued or running are in flight: resume after their data.
        const nextSeq = head + (await this.publisher.pendingFrom(jobId, head, numTasks));
        const cursor = new BatchCursor(data, {
          batchSize: o.batchSize,
          maxLength: o.maxLength,
          seed: o.seed,
          total: totalBatches,
          start: Math.min(totalBatches, nextSeq * o.interval),
        });
        const before = await this.jobStore.progress(jobId);
        const job = new HostJob({
          jobId,
          tenantId: v.spec.tenantId,
          options: o,
          transfer: v.transfer,
          staleness: v.staleness,
          data,
          cursor,
          headKey,
          taps,
          numTasks,
          totalBatches,
          nextSeq,
          aux,
          tokens: before?.tokens ?? 0,
          bytes: before?.bytes ?? 0,
        });
        await this.jobStore.setProgress(jobId, {
          step: job.step,
          totalSteps: totalBatches,
          epoch: cursor.epoch,
          auxVersion: head,
          seq: nextSeq,
          tokens: job.tokens,
          bytes: job.bytes,
        });
        const resumed = head > 0 || nextSeq > 0;
        await this.event(
          jobId,
          'info',
          resumed
            ? `Resumed at step ${job.step}/${totalBatches} from aux version ${head} (${nextSeq - head} fit task(s) in flight)`
            : `Training started: ${totalBatches} batches over ${o.epochs} epoch(s), ${numTasks} fit task(s) of ${o.interval} batch(es)`,
        );
        return job;
      } catch (e) {
        aux.dispose();
        throw e;
      }
    } catch (e) {
      this.heads.release(headKey);
      throw e;
    }
  }

  // ---------------------------------------------------------------- scheduler loop

  private async runLoop(): Promise<void> {
    while (!this.closing) {
      try {
        await this.pollIfDue();
        await this.finishTrainedJobs();
        let group = this.paused ? [] : this.scheduler.pick();
        if (group.length === 0) {
          await this.idle();
          continue;
        }
        if (this.joinableSoon(group)) {
          // Wait briefly (woken early by a new aux version) and pick again, so the tenants share it.
          await this.idle(this.opts.mixWindowMs);
          group = this.scheduler.pick();
          if (group.length === 0) continue;
        }
        await this.step(group);
        // Let BullMQ renew locks and the aux worker deliver versions between steps.
        await yieldToEventLoop();
      } catch (e) {
        this.opts.log('error', `scheduler loop: ${(e as Error).message}`, { stack: (e as Error).stack });
        await this.idle();
      }
    }
    for (const { job } of [...this.active.values()]) await this.stopJob(job, 'requeued');
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /**
   * True when a job of the group's head is only waiting for its next aux version and would fit
   * in the group: then the step is worth holding for up to `mixWindowMs`.
   */
  private joinableSoon(group: readonly HostJob[]): boolean {
    if (this.opts.mixWindowMs === 0 || group.length >= this.opts.maxTenantsPerBatch) return false;
    const key = group[0]!.packKey;
    return [...this.active.values()].some(
      ({ job }) => job.packKey === key && !group.includes(job) && !job.ready && job.inFlight > 0 && job.nextSeq < job.numTasks,
    );
  }

  private idle(ms = this.opts.pollMs): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One host step for a group of jobs that share a head and a sequence length. */
  private async step(candidates: HostJob[]): Promise<void> {
    const t0 = performance.now();
    const parts: { job: HostJob; batch: TaskBatch }[] = [];
    for (const job of candidates) {
      try {
        parts.push({ job, batch: job.takeBatch() });
      } catch (e) {
        await this.stopJob(job, 'failed', jobErrorOf(e));
      }
    }
    if (parts.length === 0) return;
    const group = parts.map((p) => p.job);
    const installed = group[0]!.headKey;
    this.heads.install(installed);
    // The other tenants' own classifier heads ride on their rows as a correction at `score`.
    const stepParts: StepPart[] = parts.map((p) => ({
      batch: p.batch,
      aux: p.job.aux,
      taps: p.job.taps,
      headDelta: this.heads.correction(p.job.headKey, installed),
    }));
    let outcomes: (StepOutcome | Error)[];
    try {
      outcomes = runHostStep(this.model, stepParts);
    } catch (e) {
      // Find the job at fault: run each tenant alone on its own head (the failed step mutated nothing).
      outcomes =
        parts.length === 1
          ? [e as Error]
          : stepParts.map((p, k) => {
              try {
                this.heads.install(parts[k]!.job.headKey);
                return runHostStep(this.model, [{ ...p, headDelta: undefined }])[0]!;
              } catch (e2) {
                return e2 as Error;
              }
            });
    } finally {
      for (const p of stepParts) if (p.headDelta) tf.dispose([p.headDelta.dW, p.headDelta.db]);
    }
    this.stepsRun++;
    const rows = parts.reduce((n, p) => n + p.batch.batch, 0);
    const ms = performance.now() - t0;
    this.recordStep(
      parts.map((p) => p.job),
      outcomes,
      ms,
    );
    if (group.length > 1) this.noteMixed(group, rows, ms);
    this.emit('step', { jobIds: group.map((j) => j.jobId), rows, ms });
    for (let k = 0; k < parts.length; k++) {
      const job = parts[k]!.job;
      const out = outcomes[k]!;
      if (out instanceof Error) {
        await this.stopJob(job, 'failed', jobErrorOf(out));
        continue;
      }
      if (!Number.isFinite(out.loss)) {
        // Nothing of this step is published: its payload would carry the same non-finite values.
        await this.stopJob(job, 'failed', jobErrorOf(new TrainingDivergedError(job.step + 1, `the training loss is ${out.loss}`)));
        continue;
      }
      try {
        const payload = job.absorb(out);
        if (payload) {
          const report = await this.publisher.publish(job, payload);
          job.bytes += report.bytes;
          const transfer = { mode: job.transfer.mode, dtype: job.transfer.dtype };
          this.metrics.observeMs('hostEncodeSeconds', report.encodeMs, transfer);
          this.metrics.observeMs('hostWriteSeconds', report.writeMs, transfer);
          this.metrics.counter('transferWrittenBytes').inc({ direction: TRANSFER_DIRECTIONS.hostToTrainer, ...transfer }, report.bytes);
          this.metrics.counter('hostFitTasks').inc(transfer);
          this.emit('published', { jobId: job.jobId, seq: payload.seq, auxVersion: payload.auxVersion, ...report });
        }
        await this.recordProgress(job);
      } catch (e) {
        await this.stopJob(job, 'failed', jobErrorOf(e));
      }
    }
  }

  /**
   * Step metrics: forward/backward/step time, batches, tokens and loss per (bounded) tenant, and
   * how many versions behind each tenant's aux was (its fit tasks in flight; at most K by design).
   */
  private recordStep(jobs: HostJob[], outcomes: (StepOutcome | Error)[], ms: number): void {
    const m = this.metrics;
    m.counter('hostSteps').inc();
    m.observeMs('hostStepSeconds', ms);
    const first = outcomes.find((o): o is StepOutcome => !(o instanceof Error));
    if (first) {
      m.observeMs('hostForwardSeconds', first.timings.forwardMs);
      m.observeMs('hostBackwardSeconds', first.timings.backwardMs);
    }
    let tokens = 0;
    jobs.forEach((job, k) => {
      const out = outcomes[k];
      if (!out || out instanceof Error) return;
      const tenant = m.tenant(job.tenantId);
      tokens += out.tokens;
      m.counter('hostBatches').inc({ tenant });
      m.counter('hostTokens').inc({ tenant }, out.tokens);
      m.gauge('trainingLoss').set({ tenant }, out.loss);
      m.histogram('hostStaleness').observe(job.inFlight);
      if (job.inFlight > job.staleness) m.counter('hostStalenessOverBound').inc();
    });
    if (ms > 0) m.gauge('trainingTokensPerSecond').set((tokens * 1000) / ms);
    this.recordActive();
  }

  /** Active jobs and the largest staleness bound among them. */
  private recordActive(): void {
    const jobs = [...this.active.values()].map((e) => e.job);
    this.metrics.gauge('hostActiveJobs').set(jobs.length);
    this.metrics.gauge('hostStalenessBound').set(jobs.reduce((k, j) => Math.max(k, j.staleness), 0));
  }

  /** Logs a job's first mixed batch at info (then every 100th at debug), so the log shows mixing happens. */
  private noteMixed(group: HostJob[], rows: number, ms: number): void {
    const fields = { tenants: group.length, jobs: group.map((j) => j.jobId), rows, ms: Math.round(ms) };
    this.mixedSteps++;
    const first = group.filter((j) => !this.mixedJobs.has(j.jobId));
    for (const j of first) this.mixedJobs.add(j.jobId);
    if (first.length)
      this.opts.log('info', `mixed batch: ${group.length} tenants in one host step (${group.map((j) => j.jobId).join(', ')})`, fields);
    else if (this.mixedSteps % 100 === 0) this.opts.log('debug', `mixed batches: ${this.mixedSteps} so far`, fields);
  }

  private async recordProgress(job: HostJob): Promise<void> {
    await this.jobStore.setProgress(job.jobId, {
      step: job.step,
      epoch: job.cursor.epoch,
      seq: job.nextSeq,
      tokens: job.tokens,
      loss: job.lastLoss,
      bytes: job.bytes,
    });
    const entry = this.active.get(job.jobId);
    const last = job.step >= job.numTasks * job.options.interval;
    if (entry && (job.step - entry.lastEventStep >= this.opts.eventEvery || last)) {
      entry.lastEventStep = job.step;
      await this.jobStore.appendEvent(job.jobId, {
        level: 'info',
        message: `Step ${job.step}/${job.totalBatches}: training loss=${job.lastLoss.toFixed(4)}`,
        metrics: { step: job.step, loss: job.lastLoss, tokens: job.tokens, bytes: job.bytes },
      });
    }
  }

  // ---------------------------------------------------------------- aux versions

  /** Loads a newer aux version of a job (serialised per job; older versions are ignored). */
  private refreshAux(jobId: string, version: number): Promise<void> {
    const entry = this.active.get(jobId);
    if (!entry) return Promise.resolve();
    const run = entry.auxChain.then(() => this.loadAux(entry, version));
    entry.auxChain = run.catch(() => undefined);
    return run;
  }

  private async loadAux(entry: ActiveEntry, version: number): Promise<void> {
    const job = entry.job;
    if (version <= job.auxVersion || job.stopReason) return;
    const bytes = await this.auxStore.load(job.jobId, version);
    this.metrics.counter('transferReadBytes').inc({ direction: TRANSFER_DIRECTIONS.trainerToHost, ...STATE_TRANSFER }, bytes.byteLength);
    if (this.active.get(job.jobId) !== entry || job.stopReason) return;
    const previous = job.auxVersion;
    if (!job.offerAux(JobAux.fromBytes(bytes, { merged: job.options.merged }))) return;
    await this.maybeCheckpoint(job, previous, version, bytes);
    await this.jobStore.setProgress(job.jobId, { auxVersion: version });
    this.emit('aux', { jobId: job.jobId, version });
    this.wake();
  }

  /** A checkpoint at the end of every epoch and at the end of training. */
  private async maybeCheckpoint(job: HostJob, from: number, to: number, bytes: Uint8Array): Promise<void> {
    const I = job.options.interval;
    const perEpoch = job.cursor.perEpoch;
    const epochOf = (v: number): number => Math.floor((v * I) / perEpoch);
    if (to === job.numTasks || epochOf(to) > epochOf(from)) await this.checkpoints.save(job.jobId, to * I, bytes);
  }

  /** Status polls (cancel, failure elsewhere) and head polls for jobs waiting on a version. */
  private async pollIfDue(): Promise<void> {
    if (Date.now() - this.lastPoll < this.opts.pollMs) return;
    this.lastPoll = Date.now();
    for (const entry of [...this.active.values()]) {
      const job = entry.job;
      if (job.stopReason) continue;
      const status = await this.jobStore.status(job.jobId);
      if (status === 'cancelling') {
        await this.stopJob(job, 'cancelled');
        continue;
      }
      if (status !== 'running') {
        // Failed by a trainer (bad payload), cancelled or deleted elsewhere: stop without
        // overwriting what was recorded.
        await this.stopJob(job, status === 'cancelled' ? 'cancelled' : 'failed', undefined, { recorded: true });
        continue;
      }
      if (!job.ready && job.inFlight > 0) {
        // A missed "aux published" (consumed by another host, or lost) must not stall the job.
        const head = await this.auxStore.head(job.jobId);
        if (head !== null && head > job.auxVersion)
          await this.refreshAux(job.jobId, head).catch((e: unknown) =>
            this.opts.log('warn', `aux reload: ${(e as Error).message}`, { jobId: job.jobId }),
          );
      }
    }
  }

  // ---------------------------------------------------------------- job end

  private async finishTrainedJobs(): Promise<void> {
    for (const { job } of [...this.active.values()]) {
      if (!job.trained) continue;
      try {
        await this.completeJob(job);
      } catch (e) {
        await this.stopJob(job, 'failed', jobErrorOf(e));
      }
    }
  }

  /** Final evaluation on the validation file, the result, the last checkpoint, `succeeded`. */
  private async completeJob(job: HostJob): Promise<void> {
    this.scheduler.remove(job.jobId);
    const version = job.auxVersion;
    const o = job.options;
    let message = 'Training finished';
    if (job.data.evalSize > 0) {
      const bytes = await this.auxStore.load(job.jobId, version);
      const { adapters } = decodeJobAuxState(bytes, { paramsOnly: true });
      try {
        this.heads.install(job.headKey);
        const result = await evaluateInChunks(this.model, job.data.evaluation({ batchSize: o.batchSize, maxLength: o.maxLength }), {
          adapters,
          merged: o.merged,
          chunk: this.opts.evalChunk,
        });
        await this.jobStore.setEval(job.jobId, result);
        message += `; validation ${result.metric} ${result.value.toFixed(4)} over ${result.count} ${result.metric === 'accuracy' ? 'examples' : 'tokens'}`;
      } finally {
        adapters.dispose();
      }
    }
    await this.jobStore.setProgress(job.jobId, {
      step: job.step,
      auxVersion: version,
      seq: job.nextSeq,
      tokens: job.tokens,
      bytes: job.bytes,
    });
    // A cancel that arrived while the job was being evaluated wins: it ends `cancelled`.
    const ended = await this.jobStore.finish(job.jobId, 'succeeded', 'gpu-host');
    await this.retire(job.jobId);
    if (ended === 'succeeded') {
      await this.event(job.jobId, 'info', message);
      this.end(job, 'succeeded');
    } else {
      if (ended === 'cancelled') await this.event(job.jobId, 'info', `Job cancelled at step ${job.step}, after its last batch`);
      this.end(job, ended === 'cancelled' ? 'cancelled' : 'failed');
    }
  }

  /**
   * Takes a job off the host. `cancelled` and `failed` withdraw its queued fit tasks and delete
   * their payloads, and record the status (unless `recorded`: another service already did);
   * `requeued` leaves everything in place for the host that resumes it.
   */
  private async stopJob(job: HostJob, reason: StopReason, error?: JobError, opts: { recorded?: boolean } = {}): Promise<void> {
    if (job.stopReason) return;
    job.stopReason = reason;
    this.scheduler.remove(job.jobId);
    job.clearBuffers();
    let endedAs: StopReason = reason;
    try {
      if (reason !== 'requeued') {
        const withdrawn = await this.publisher.withdraw(job.jobId, job.auxVersion, job.nextSeq);
        await this.retire(job.jobId);
        if (!opts.recorded) {
          const ended = await this.jobStore.finish(job.jobId, reason, 'gpu-host', error);
          if (ended === 'cancelled') endedAs = 'cancelled';
          const what = ended === 'cancelled' ? 'Job cancelled' : `Job failed: ${error?.message ?? 'unknown reason'}`;
          if (ended)
            await this.event(
              job.jobId,
              ended === 'cancelled' ? 'info' : 'error',
              `${what} at step ${job.step}; ${withdrawn} queued fit task(s) withdrawn`,
            );
        }
        this.opts.log(reason === 'failed' ? 'warn' : 'info', `job ${job.jobId} ${reason}`, {
          jobId: job.jobId,
          step: job.step,
          code: error?.code,
          withdrawn,
        });
      }
    } catch (e) {
      this.opts.log('error', `stopping job ${job.jobId}: ${(e as Error).message}`, { jobId: job.jobId });
    } finally {
      this.end(job, endedAs, endedAs === 'failed' ? error : undefined);
    }
  }

  /**
   * A finished job keeps only its head version (what its adapter export and serving read) and its
   * checkpoints; the superseded versions go now instead of after their TTL, so Redis memory
   * returns to its baseline when jobs end.
   */
  private async retire(jobId: string): Promise<void> {
    try {
      await new AuxStateStore(this.redis!).prune(jobId, 1);
    } catch (e) {
      this.opts.log('warn', `pruning the aux versions of job ${jobId}: ${(e as Error).message}`, { jobId });
    }
  }

  private end(job: HostJob, status: JobEnd, error?: JobError): void {
    const entry = this.active.get(job.jobId);
    if (entry?.job !== job) return;
    this.active.delete(job.jobId);
    this.mixedJobs.delete(job.jobId);
    this.recordActive();
    this.scheduler.remove(job.jobId);
    this.heads.release(job.headKey);
    job.dispose();
    entry.resolve(status);
    this.emit('ended', error ? { jobId: job.jobId, status, error } : { jobId: job.jobId, status });
  }

  private async event(jobId: string, level: 'info' | 'warn' | 'error', message: string): Promise<void> {
    try {
      await this.jobStore.appendEvent(jobId, { level, message });
    } catch (e) {
      this.opts.log('warn', `event not recorded: ${(e as Error).message}`, { jobId });
    }
  }
}
