import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ENV, QUEUES, queueOptions } from '@cola/config';
import { initGptModel, saveCheckpoint, type GptConfig } from '@cola/model';
import { JobStore, putUpload, submitJob, type JobsQueueData, type JobStatus } from '@cola/pipeline';
import { freePort, ServiceProcess } from '@cola/testing';
import { Supervisor } from './supervisor';
import type { JobSpec } from '@cola/proto';

/** The tiny base model of the pipeline tests: seconds per job on two cores. */
export const TINY_CONFIG: GptConfig = { vocabSize: 258, nPositions: 32, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };

/**
 * Writes a seeded tiny base checkpoint to a fresh temp dir, or to `name` inside one (a base model
 * is named after its directory); returns the checkpoint's dir. {@link removeDir} removes it (its
 * parent, when named).
 */
export async function writeTinyCheckpoint(seed = 1, name?: string): Promise<string> {
  const tmp = mkdtempSync(join(tmpdir(), 'cola-base-'));
  const dir = name ? join(tmp, name) : tmp;
  const model = initGptModel(TINY_CONFIG, { seed });
  await saveCheckpoint(dir, model);
  model.dispose();
  return dir;
}

/** Options of {@link PipelineStack}. */
export interface PipelineStackOptions {
  redisUrl: string;
  modelDir: string;
  /** Extra env for every service (e.g. short BullMQ lock durations for crash tests). */
  env?: Record<string, string>;
  /** Collect service logs instead of printing them. Default: print only when COLA_TEST_VERBOSE is set. */
  quiet?: boolean;
  /** Restart services that exit unexpectedly, as `npm start` does. Default false: tests kill and restart by hand. */
  supervise?: boolean;
  /** Where supervisor lines (exits, restarts) go. Default: nowhere unless COLA_TEST_VERBOSE is set. */
  supervisorLog?: (line: string) => void;
  /** How long each service may take to answer /healthz. Default: ServiceProcess's (120 s). */
  startTimeoutMs?: number;
}

/**
 * The services of the pipeline as real child processes against one Redis: a gpu-host, any number
 * of aux-trainers and a merger. Test code submits jobs through the same library calls the
 * gateway uses and reads results from Redis.
 */
export class PipelineStack {
  readonly services = new Map<string, ServiceProcess>();
  /** The supervisor of each service, when supervising. */
  readonly supervisors = new Map<string, Supervisor>();
  readonly redis: Redis;
  readonly jobs: JobStore;
  readonly jobsQueue: Queue<JobsQueueData>;
  mergerAddress = '';

  constructor(readonly opts: PipelineStackOptions) {
    this.redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
    this.jobs = new JobStore(this.redis);
    this.jobsQueue = new Queue<JobsQueueData>(QUEUES.jobs, { connection: this.redis, ...queueOptions(QUEUES.jobs) });
  }

  /** Starts one service and waits until its /healthz answers. */
  async start(name: string, app: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
    const metricsPort = await freePort();
    const verbose = !!process.env[ENV.COLA_TEST_VERBOSE] && !this.opts.quiet;
    const service = new ServiceProcess({
      name,
      app,
      env: {
        [ENV.REDIS_URL]: this.opts.redisUrl,
        [ENV.MODEL_DIR]: this.opts.modelDir,
        [ENV.METRICS_PORT]: String(metricsPort),
        [ENV.LOG_LEVEL]: 'info',
        ...this.opts.env,
        ...env,
      },
      healthUrl: `http://127.0.0.1:${metricsPort}/healthz`,
      startTimeoutMs: this.opts.startTimeoutMs,
      log: verbose ? undefined : () => undefined,
    });
    this.services.set(name, service);
    if (this.opts.supervise) {
      const log = this.opts.supervisorLog ?? (verbose ? (line: string) => process.stderr.write(`[supervisor] ${line}\n`) : () => undefined);
      const supervisor = new Supervisor(service, { log, initialBackoffMs: 200, maxBackoffMs: 5000 });
      this.supervisors.set(name, supervisor);
      await supervisor.start();
    } else await service.start();
    return service;
  }

  /**
   * A gpu-host, `trainers` aux-trainers and a merger, started in parallel; `envOf` adds env per
   * app (e.g. a fault injector preloaded into the gpu-host only).
   */
  async startAll(trainers = 2, envOf: Partial<Record<'gpu-host' | 'aux-trainer' | 'merger', Record<string, string>>> = {}): Promise<void> {
    const grpcPort = await freePort();
    this.mergerAddress = `127.0.0.1:${grpcPort}`;
    await Promise.all([
      this.start('gpu-host', 'gpu-host', envOf['gpu-host']),
      ...Array.from({ length: trainers }, (_, i) => this.start(`aux-trainer-${i + 1}`, 'aux-trainer', envOf['aux-trainer'])),
      this.start('merger', 'merger', { ...envOf.merger, [ENV.MERGER_GRPC_PORT]: String(grpcPort) }),
    ]);
  }

  /** Stores the uploads and submits the job, as the gateway does. */
  async submit(spec: JobSpec, files: Record<string, string>): Promise<void> {
    for (const [fileId, body] of Object.entries(files)) await putUpload(this.redis, fileId, new TextEncoder().encode(body));
    await submitJob(this.jobs, this.jobsQueue, spec);
  }

  /** Polls the job record until it reaches a final status; fails with the services' logs on timeout. */
  async waitForFinal(jobId: string, timeoutMs = 240_000): Promise<JobStatus> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const s = await this.jobs.status(jobId);
      if (s === 'succeeded' || s === 'failed' || s === 'cancelled') return s;
      await new Promise((r) => setTimeout(r, 100));
    }
    const logs = [...this.services.values()].map((s) => `--- ${s.opts.name}\n${s.logs.slice(-15).join('\n')}`).join('\n');
    throw new Error(`job ${jobId} did not finish within ${timeoutMs} ms (status ${await this.jobs.status(jobId)})\n${logs}`);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.services.entries()].map(([name, s]) => (this.supervisors.get(name) ?? s).stop()));
    await this.jobsQueue.close();
    this.redis.disconnect();
  }
}

/** Removes a temp dir made by {@link writeTinyCheckpoint}. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
