import { HOST_JOB_LOCK_MS, HOST_MEMORY_BUDGET_MB, OptionChecks, QUEUE_RETENTION, TTLS } from '@cola/config';
import type { GptModel } from '@cola/model';
import type { ColaMetrics } from '@cola/metrics';
import type { HostAuxStore, HostPayloadStore } from './stores';
import { jsonLogger, type HostLogger } from '../service/logger';

/** Options of {@link HostService}. */
export interface HostServiceOptions {
  /** Redis for BullMQ, job records, uploads and (by default) the stores. */
  redisUrl: string;
  /**
   * The frozen base model, loaded once. The service owns its classifier head while it runs:
   * it installs each classification job's head before that job's host steps.
   */
  model: GptModel;
  /** Jobs trained at once: the concurrency of the `jobs` worker. Default 4. */
  maxActiveJobs?: number;
  /** Most tenants in one mixed batch; 1 turns mixing off. Default 4. */
  maxTenantsPerBatch?: number;
  /** TTL of adaptation payloads in seconds. Default `TTLS.payloadSeconds`. */
  payloadTtlSeconds?: number;
  /**
   * Milliseconds between polls of the jobs' statuses (cancel, a failure reported by a trainer)
   * and of the aux heads of jobs waiting for a version (a missed "aux published"). Default 500.
   */
  pollMs?: number;
  /**
   * How long a ready job waits for jobs of the same head whose next aux version is due, so that
   * they share one host step (a mixed batch) instead of alternating. With K = 1 two tenants are
   * otherwise rarely ready at the same instant. Default 100 ms; 0 never waits.
   */
  mixWindowMs?: number;
  /** A progress event in the job's event stream every this many host batches. Default 10. */
  eventEvery?: number;
  /** Validation rows (inputs, or windows) evaluated between yields to the event loop. Default 16. */
  evalRowsPerYield?: number;
  /**
   * MiB of tensor memory host steps and buffered jobs may use (see HostMemoryBudget): a step runs
   * in row chunks that fit beside the live tensors, and a job that does not fit waits queued.
   * Default `HOST_MEMORY_BUDGET_MB.default`.
   */
  memoryBudgetMb?: number;
  /**
   * Seconds completed queue records (fit tasks, announcements, finished jobs) and queue events
   * are kept before the host's sweep removes them (see QueueRetention). Default
   * `QUEUE_RETENTION.completedSeconds`.
   */
  queueRetentionSeconds?: number;
  /**
   * Lock of each job's `jobs` entry in ms (BullMQ's lockDuration). Renewal runs on the event loop,
   * which every host step blocks, so it must outlast the longest step; a host killed without
   * handing its jobs back leaves them locked this long. Default `HOST_JOB_LOCK_MS.default`.
   */
  jobLockMs?: number;
  /** Caps the rows of one host-step chunk below what the memory budget allows. Default: no cap (0). */
  maxRowsPerChunk?: number;
  /** Payload store; default `TensorStore` of @cola/store on `redisUrl`. */
  payloads?: HostPayloadStore;
  /** Aux state store; default `AuxStateStore` of @cola/store on `redisUrl`. */
  auxStore?: HostAuxStore;
  /** Logger; default JSON lines on stderr at info and above. */
  log?: HostLogger;
  /**
   * Where stage timings, bytes, batches, tokens, staleness, loss and queue depth are recorded
   * (the host's share of the communication overhead). Default: a private registry nobody scrapes (the app passes its process registry).
   */
  metrics?: ColaMetrics;
}

/** {@link HostServiceOptions} with every default filled in. */
export type ResolvedHostServiceOptions = Required<Omit<HostServiceOptions, 'payloads' | 'auxStore' | 'metrics'>> &
  Pick<HostServiceOptions, 'payloads' | 'auxStore' | 'metrics'>;

export const HOST_SERVICE_DEFAULTS = {
  maxActiveJobs: 4,
  maxTenantsPerBatch: 4,
  payloadTtlSeconds: TTLS.payloadSeconds,
  pollMs: 500,
  mixWindowMs: 100,
  eventEvery: 10,
  evalRowsPerYield: 16,
  memoryBudgetMb: HOST_MEMORY_BUDGET_MB.default,
  maxRowsPerChunk: 0,
  jobLockMs: HOST_JOB_LOCK_MS.default,
  queueRetentionSeconds: QUEUE_RETENTION.completedSeconds,
} as const;

/** Merges the defaults and checks every option at once, naming each bad one and how to fix it. */
export function resolveHostServiceOptions(raw: HostServiceOptions): ResolvedHostServiceOptions {
  const o = { ...HOST_SERVICE_DEFAULTS, log: jsonLogger(), ...stripUndefined(raw) } as ResolvedHostServiceOptions;
  new OptionChecks()
    .redisUrl('redisUrl', o.redisUrl)
    .check(!!o.model && typeof o.model.weight === 'function', 'model must be a loaded GptModel (e.g. from loadCheckpoint)')
    .int('maxActiveJobs', o.maxActiveJobs, { min: 1, max: 1024 })
    .int('maxTenantsPerBatch', o.maxTenantsPerBatch, { min: 1, max: 1024 })
    .int('payloadTtlSeconds', o.payloadTtlSeconds, { min: 1, max: 30 * 24 * 3600 })
    .int('pollMs', o.pollMs, { min: 10, max: 60_000 })
    .int('mixWindowMs', o.mixWindowMs, { min: 0, max: 60_000 })
    .int('eventEvery', o.eventEvery, { min: 1, max: 1_000_000 })
    .int('evalRowsPerYield', o.evalRowsPerYield, { min: 1, max: 100_000 })
    .int('maxRowsPerChunk', o.maxRowsPerChunk, { min: 0, max: 1_000_000 })
    .int('queueRetentionSeconds', o.queueRetentionSeconds, { min: 1, max: 30 * 24 * 3600 })
    .int('memoryBudgetMb', o.memoryBudgetMb, HOST_MEMORY_BUDGET_MB)
    .int('jobLockMs', o.jobLockMs, HOST_JOB_LOCK_MS)
    .throwIfAny((problems) => new RangeError(`Invalid HostService options: ${problems.join('; ')}`));
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
