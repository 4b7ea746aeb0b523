import { EventEmitter } from 'node:events';
import { basename, resolve } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { BULLMQ_PREFIX, OptionChecks, PORTS, QUEUES, STATE_TRANSFER, TRANSFER_DIRECTIONS } from '@cola/config';
import { ColaMetrics } from '@cola/metrics';
import { loadCheckpoint, type GptModel } from '@cola/model';
import { InferenceService } from '@cola/proto';
import { AuxStateStore } from '@cola/store';
import type { HostLogger } from '../service/logger';
import { JobStore } from '../jobs/job-store';
import { AuxPublishedDataError, validateAuxPublishedData } from '../queues/aux-published-data';
import { DEFAULT_INFERENCE_LIMITS, type InferenceLimits } from './inference';
import { inferenceHandlers } from './inference-handlers';
import { ServedDeltasUpdater, type ServedUpdate } from './served-deltas-updater';
import { ServedModels } from './served-models';
import { ServedStore } from './served-store';

/** Options of {@link MergerService}. */
export interface MergerServiceOptions {
  /** Redis URL (aux states, served records, job records and the "aux published" queue). */
  redisUrl: string;
  /** Base checkpoint directory (config.json + model.safetensors), as the gpu-host loads it. */
  modelDir: string;
  /** Name of the base model in `ft:<base>:...` and Status. Default: the directory's name. */
  baseModelName?: string;
  /** gRPC listen port; 0 picks a free one (tests). Default `PORTS.mergerGrpc`. */
  grpcPort: number;
  /** gRPC listen address. Default 0.0.0.0. */
  grpcHost: string;
  /** Consume `QUEUES.auxPublishedMerger` (false: serve only, e.g. a read replica). Default true. */
  consume: boolean;
  /** "aux published" events handled at once. Default 1. */
  concurrency: number;
  /** Fine-tuned models kept loaded. Default 16. */
  maxModels: number;
  /** Request limits. */
  limits: InferenceLimits;
  /** Where log lines go. Default: nowhere. */
  log: HostLogger;
  /**
   * Where merge timings, bytes read and inference latency are recorded (what serving costs per tenant). Default: a
   * private registry nobody scrapes (the app passes its process registry).
   */
  metrics?: ColaMetrics;
}

/** Defaults of {@link MergerServiceOptions}. */
export const DEFAULT_MERGER_OPTIONS: Readonly<Omit<MergerServiceOptions, 'redisUrl' | 'modelDir' | 'baseModelName'>> = {
  grpcPort: PORTS.mergerGrpc,
  grpcHost: '0.0.0.0',
  consume: true,
  concurrency: 1,
  maxModels: 16,
  limits: DEFAULT_INFERENCE_LIMITS,
  log: () => undefined,
};

/** Typed events of {@link MergerService}. */
export interface MergerServiceEvents {
  /** An "aux published" event was handled. */
  updated: [update: ServedUpdate];
}

function validateOptions(o: MergerServiceOptions): void {
  const l = o.limits;
  new OptionChecks()
    .redisUrl('redisUrl', o.redisUrl)
    .check(typeof o.modelDir === 'string' && o.modelDir !== '', 'modelDir must name the base checkpoint directory, e.g. models/cola-tiny')
    .port('grpcPort', o.grpcPort)
    .int('concurrency', o.concurrency, { min: 1 })
    .int('maxModels', o.maxModels, { min: 1 })
    .int('limits.maxTexts', l.maxTexts, { min: 1 })
    .int('limits.maxNewTokens', l.maxNewTokens, { min: 1 })
    .int('limits.batchSize', l.batchSize, { min: 1 })
    .int('limits.defaultNewTokens', l.defaultNewTokens, { min: 1, max: l.maxNewTokens, unit: '(limits.maxNewTokens)' })
    .throwIfAny((problems) => new RangeError(`MergerService options: ${problems.join('; ')}`));
}

/**
 * The merger (docs/pipeline.md, "The merger"): folds each new aux version into the job's served
 * record, and serves the cola.v1 Inference service over gRPC for `base` and every fine-tuned
 * model: W + dW where the aux merges (the mean over its group in a collaborative merge), the
 * injected g(X) where it does not (mlp).
 */
export class MergerService extends EventEmitter<MergerServiceEvents> {
  readonly options: Readonly<MergerServiceOptions & { baseModelName: string }>;
  private redis: Redis | undefined;
  private base: GptModel | undefined;
  private models: ServedModels | undefined;
  private worker: Worker | undefined;
  private server: Server | undefined;
  private boundPort: number | undefined;
  private closing: Promise<void> | undefined;
  private readonly metrics: ColaMetrics;

  constructor(opts: Partial<MergerServiceOptions> & Pick<MergerServiceOptions, 'redisUrl' | 'modelDir'>) {
    super();
    const merged = { ...DEFAULT_MERGER_OPTIONS, ...opts, limits: { ...DEFAULT_INFERENCE_LIMITS, ...opts.limits } };
    validateOptions(merged);
    this.options = { ...merged, baseModelName: opts.baseModelName ?? basename(resolve(merged.modelDir)) };
    this.metrics = (merged.metrics ?? ColaMetrics.of()).registerService('merger');
  }

  /** The bound gRPC port (after `start`). */
  get port(): number {
    if (this.boundPort === undefined) throw new Error('MergerService.port: call start() first');
    return this.boundPort;
  }

  /** True while serving (the /healthz answer). */
  get running(): boolean {
    return this.server !== undefined && this.closing === undefined && (this.worker === undefined || this.worker.isRunning());
  }

  /** Loads the base model, starts consuming "aux published" and serves gRPC; resolves with the port. */
  async start(): Promise<number> {
    if (this.redis) throw new Error('MergerService.start(): already started');
    const o = this.options;
    this.redis = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
    this.base = await loadCheckpoint(o.modelDir);
    const served = new ServedStore(this.redis);
    const aux = new AuxStateStore(this.redis);
    const jobs = new JobStore(this.redis);
    this.models = new ServedModels({ base: this.base, served, aux, jobs }, { baseModelName: o.baseModelName, maxModels: o.maxModels });

    if (o.consume) {
      // Count the aux state bytes the merger reads (its share of the transfer volume).
      const countedAux = {
        head: (jobId: string) => aux.head(jobId),
        load: async (jobId: string, version: number) => {
          const bytes = await aux.load(jobId, version);
          this.metrics
            .counter('transferReadBytes')
            .inc({ direction: TRANSFER_DIRECTIONS.trainerToMerger, ...STATE_TRANSFER }, bytes.byteLength);
          return bytes;
        },
      };
      const updater = new ServedDeltasUpdater({ aux: countedAux, served, jobs });
      updater.on('updated', (u) => {
        o.log(u.status === 'served' ? 'info' : 'debug', `aux v${u.version} of job ${u.jobId}: ${u.status}`, { ...u });
        this.emit('updated', u);
      });
      this.worker = new Worker(QUEUES.auxPublishedMerger, (job: Job) => this.consume(updater, job), {
        connection: this.redis,
        prefix: BULLMQ_PREFIX,
        concurrency: o.concurrency,
      });
      this.worker.on('error', (e) => o.log('error', `worker error: ${e.message}`));
      this.worker.on('failed', (job, e) =>
        o.log('error', 'aux published event failed', { jobId: job?.data?.jobId, version: job?.data?.version, error: e.message }),
      );
      await this.worker.waitUntilReady();
    }

    this.server = new Server();
    this.server.addService(
      InferenceService,
      inferenceHandlers({
        models: this.models,
        served,
        baseModelName: o.baseModelName,
        limits: o.limits,
        log: o.log,
        metrics: this.metrics,
      }),
    );
    const server = this.server;
    this.boundPort = await new Promise<number>((ok, fail) =>
      server.bindAsync(`${o.grpcHost}:${o.grpcPort}`, ServerCredentials.createInsecure(), (e, port) => (e ? fail(e) : ok(port))),
    );
    o.log('info', 'merger started', { grpc: `${o.grpcHost}:${this.boundPort}`, baseModel: o.baseModelName, consume: o.consume });
    return this.boundPort;
  }

  /**
   * Stops taking events and calls (running ones finish), then frees the models and closes the
   * connection. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.worker?.close();
      const server = this.server;
      if (server) await new Promise<void>((done) => server.tryShutdown(() => done()));
      this.models?.clear();
      this.base?.dispose();
      await this.redis?.quit().catch(() => this.redis?.disconnect());
      this.options.log('info', 'merger stopped');
    })();
    return this.closing;
  }

  private async consume(updater: ServedDeltasUpdater, job: Job): Promise<ServedUpdate> {
    const t0 = performance.now();
    try {
      const update = await updater.apply(validateAuxPublishedData(job.data));
      this.metrics.observeMs('mergerMergeSeconds', performance.now() - t0, { status: update.status });
      return update;
    } catch (e) {
      this.metrics.observeMs('mergerMergeSeconds', performance.now() - t0, { status: 'error' });
      if (e instanceof AuxPublishedDataError) throw new UnrecoverableError(`aux published job ${job.id}: ${e.message}`);
      throw e;
    }
  }
}
