import { EventEmitter } from 'node:events';
import { assertDataFits, disposeAdaptationData, glFitStep, supportsGram, type AdaptationData } from '@cola/gl';
import { keys } from '@cola/config';
import { dtypeToName, transferModeToName, WireFormatError } from '@cola/proto';
import {
  PayloadCorruptError,
  PayloadMissingError,
  type CommitResult,
  type PayloadRepublishStore,
  type RepublishEntry,
  type RepublishRequest,
} from '@cola/store';
import type { JobStore } from '../jobs/job-store';
import { TrainingDivergedError, type JobErrorCode } from '../jobs/job-status';
import { firstNonFiniteParam } from './finiteness';
import { decodeJobAuxState, encodeJobAuxState, scheduleOf, type JobAuxState } from '../state/job-aux-state';
import { decodeAdaptation, type DecodedAdaptation } from '../transfer/adaptation-decoder';
import { toAdaptationTask, type AdaptTaskData } from '../queues/adapt-task-data';
import type { AuxPublishedData } from '../queues/aux-published-data';
import type { AuxPublisher } from './aux-published-publisher';
import { AuxStateCache } from './aux-state-cache';
import { FitTaskNotReadyError, FitTaskRejectedError } from './fit-task-errors';
import { KeyedMutex } from './keyed-mutex';

// The processor depends on what it calls (structural types that @cola/store's classes satisfy),
// so the claim-check seam can later move payloads to object storage without touching it.

/** What the processor needs of the claim-check tensor store (@cola/store's TensorStore). */
export interface PayloadSource {
  /** The bytes at `key` and the SHA-256 they were verified against; throws when missing or corrupt. */
  read(key: string, expectedSha256?: string): Promise<{ data: Uint8Array; sha256: string }>;
  /** Deletes the bytes (the fit task is done with them). */
  delete(key: string): Promise<unknown>;
}

/** What the processor needs of the versioned aux state store (@cola/store's AuxStateStore). */
export interface AuxVersionStore {
  /** The latest committed version, or null when the job has no state. */
  head(jobId: string): Promise<number | null>;
  /** The encoded state at `version`. */
  load(jobId: string, version: number): Promise<Uint8Array>;
  /** Atomically writes version expected + 1 iff head == expected and `seq` is not applied yet. */
  commit(jobId: string, expectedVersion: number, bytes: Uint8Array, meta: { seq: number }): Promise<CommitResult>;
  /** The version that applied fit task `seq`, or null if it was not applied. */
  appliedVersion(jobId: string, seq: number): Promise<number | null>;
}

/** What the processor needs of the re-publication requests (@cola/store's PayloadRepublishStore). */
export type RepublishSource = Pick<PayloadRepublishStore, 'get' | 'request' | 'clear'>;

/** Collaborators of {@link FitTaskProcessor}. */
export interface FitTaskProcessorDeps {
  /** Where the payloads are. */
  payloads: PayloadSource;
  /** Where an expired payload is asked for again, and where the gpu-host answers. */
  republish: RepublishSource;
  /** Where the aux versions are. */
  aux: AuxVersionStore;
  /** The job records: a rejected payload fails its training job here, with an event. */
  jobs: Pick<JobStore, 'fail'>;
  /** Announces committed versions. */
  publisher: AuxPublisher;
}

/** Options of {@link FitTaskProcessor}. */
export interface FitTaskProcessorOptions {
  /** Jobs whose decoded state stays live between tasks (0 disables the cache). Default 16. */
  cacheJobs: number;
}

/** Defaults of {@link FitTaskProcessorOptions}. */
export const DEFAULT_FIT_TASK_PROCESSOR_OPTIONS: Readonly<FitTaskProcessorOptions> = { cacheJobs: 16 };

/** What one processed fit task did. */
export interface FitTaskOutcome {
  /** `committed`: this delivery applied the task; `duplicate`: it had been applied before. */
  status: 'committed' | 'duplicate';
  jobId: string;
  seq: number;
  /** The aux version that holds the task's update. */
  version: number;
  /** Whether the state came from the local cache (committed only). */
  cacheHit?: boolean;
  /** Per-layer gradient norm before clipping (committed only). */
  gradNorms?: Record<string, number>;
  /** Wall milliseconds of load + fit + encode + commit (committed only). */
  fitMs?: number;
  /** Stage costs of a committed task, for the aux-trainer's metrics (communication overhead per stage). */
  stages?: FitTaskStages;
}

/** Where a committed fit task spent its time and how many bytes it moved. */
export interface FitTaskStages {
  /** The payload's transfer encoding (`activations`|`gram`, `fp32`|`fp16`|`bf16`). */
  transfer: { mode: string; dtype: string };
  /** Milliseconds fetching (with checksum) and decoding the payload. */
  decodeMs: number;
  /** Milliseconds getting the state at the head (0-ish on a cache hit). */
  stateLoadMs: number;
  /** Milliseconds of the GL fit step over every layer. */
  fitMs: number;
  /** Milliseconds encoding and committing the new version. */
  stateWriteMs: number;
  /** Payload bytes read. */
  payloadBytes: number;
  /** Aux state bytes read (0 on a cache hit). */
  stateReadBytes: number;
  /** Aux state bytes written (the new version). */
  stateWrittenBytes: number;
}

/** Typed events of {@link FitTaskProcessor}. */
export interface FitTaskProcessorEvents {
  /** A task was applied (or recognised as applied before). */
  processed: [outcome: FitTaskOutcome];
  /** A task's payload was refused and its training job failed. */
  rejected: [task: AdaptTaskData, error: FitTaskRejectedError];
}

/**
 * The aux-trainer's fit-task processor: docs/pipeline.md "The aux-trainer", steps 1-5.
 *
 * 1. An applied `seq` is acknowledged (a redelivery is never applied twice), re-announcing its
 *    version so a crash between commit and publish loses no event.
 * 2. Tasks of a job apply in `seq` order: the head must equal `seq`, else FitTaskNotReadyError.
 * 3. The payload is fetched and validated; a malformed one fails the training job
 *    (FitTaskRejectedError, an UnrecoverableError). An expired one is asked for again: the
 *    gpu-host recomputes the task's batches and publishes them under a new key, and the task
 *    waits (FitTaskNotReadyError, `payload-missing`) until it reads them.
 * 4. The state at the head (from the local cache when possible) takes one GL fit step per layer
 *    and is committed as head + 1 with compare-and-set.
 * 5. The version is announced and the payload deleted.
 *
 * Every tensor it creates is disposed or kept in the cache; `close()` frees the cache.
 */
export class FitTaskProcessor extends EventEmitter<FitTaskProcessorEvents> {
  private readonly cache: AuxStateCache;
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly deps: FitTaskProcessorDeps,
    opts: Partial<FitTaskProcessorOptions> = {},
  ) {
    super();
    const o = { ...DEFAULT_FIT_TASK_PROCESSOR_OPTIONS, ...opts };
    this.cache = new AuxStateCache({ maxJobs: o.cacheJobs });
  }

  /** Jobs whose state is cached. */
  get cachedJobs(): number {
    return this.cache.size;
  }

  /** Processes one fit task; tasks of the same job are serialised within this process. */
  process(task: AdaptTaskData): Promise<FitTaskOutcome> {
    return this.mutex.run(task.jobId, () => this.processInOrder(task));
  }

  /** Frees the cached states; returns how many tensors were freed. */
  close(): number {
    return this.cache.clear();
  }

  private async processInOrder(task: AdaptTaskData): Promise<FitTaskOutcome> {
    const { jobId, seq } = task;
    const applied = await this.deps.aux.appliedVersion(jobId, seq);
    if (applied !== null) return this.acknowledge(task, applied);

    const head = await this.deps.aux.head(jobId);
    if (head === null)
      throw new FitTaskNotReadyError(
        `job ${jobId} has no aux state yet; the gpu-host writes version 0 before its first fit task`,
        'no-state',
      );
    if (head < seq)
      throw new FitTaskNotReadyError(`job ${jobId} fit task ${seq} waits for task ${head} (the aux head is version ${head})`, 'order');
    if (head > seq) {
      // Another delivery committed this seq between our two reads.
      const now = await this.deps.aux.appliedVersion(jobId, seq);
      if (now !== null) return this.acknowledge(task, now);
      throw new Error(`job ${jobId}: aux head is version ${head} but fit task ${seq} was never applied; the aux store is inconsistent`);
    }

    const tFetch = performance.now();
    const fetched = await this.fetchPayload(task);
    if ('appliedAs' in fetched) return this.acknowledge(task, fetched.appliedAs);
    const { decoded, payloadBytes, payloadKey } = fetched;
    const t0 = performance.now();
    const decodeMs = t0 - tFetch;
    let state: JobAuxState | undefined;
    try {
      const cached = this.cache.take(jobId, head);
      let stateReadBytes = 0;
      if (cached) state = cached;
      else {
        const stored = await this.deps.aux.load(jobId, head);
        stateReadBytes = stored.byteLength;
        state = decodeJobAuxState(stored);
      }
      const tLoaded = performance.now();
      const problem = mismatch(state, decoded);
      if (problem) {
        // Nothing was fitted yet, so the state is still exactly version `head`.
        this.cache.put(state);
        state = undefined;
        return await this.reject(task, `fit task ${seq} of job ${jobId} does not fit the job's aux: ${problem}`, 'invalid_payload');
      }
      const gradNorms = fitStep(state, decoded);
      const diverged = divergence(state, gradNorms);
      if (diverged) {
        // The fitted state is disposed below and never stored, announced or served.
        const error = new TrainingDivergedError(seq + 1, `${diverged} in fit task ${seq}`);
        return await this.reject(task, error.message, error.code);
      }
      const tFitted = performance.now();
      const next = head + 1;
      const bytes = encodeJobAuxState(state.adapters, { jobId, version: next, schedule: state.schedule, clipNorm: state.clipNorm });
      const result = await this.deps.aux.commit(jobId, head, bytes, { seq });
      if (result === 'committed') {
        this.cache.put({ ...state, version: next });
        state = undefined;
        const t1 = performance.now();
        const transfer = decoded.batch.transfer;
        const stages: FitTaskStages = {
          transfer: {
            mode: transfer ? transferModeToName(transfer.mode) : 'unknown',
            dtype: transfer ? dtypeToName(transfer.dtype) : 'unknown',
          },
          decodeMs,
          stateLoadMs: tLoaded - t0,
          fitMs: tFitted - tLoaded,
          stateWriteMs: t1 - tFitted,
          payloadBytes,
          stateReadBytes,
          stateWrittenBytes: bytes.byteLength,
        };
        const outcome: FitTaskOutcome = {
          status: 'committed',
          jobId,
          seq,
          version: next,
          cacheHit: cached !== undefined,
          gradNorms,
          fitMs: t1 - t0,
          stages,
        };
        await this.announce(task, next, decoded.batch.tenantId);
        if (payloadKey !== task.payloadKey) {
          // Applied from a re-published payload: drop it and its entry too.
          await this.deps.payloads.delete(payloadKey);
          await this.deps.republish.clear(jobId, seq);
        }
        this.emit('processed', outcome);
        return outcome;
      }
      if (result === 'duplicate') {
        const version = await this.deps.aux.appliedVersion(jobId, seq);
        return await this.acknowledge(task, version ?? head + 1);
      }
      throw new FitTaskNotReadyError(
        `job ${jobId} fit task ${seq}: the aux head moved past version ${head} while fitting (compare-and-set conflict)`,
        'conflict',
      );
    } finally {
      // A state that was fitted but not committed is no version at all: never reuse it.
      state?.adapters.dispose();
      for (const d of decoded.layers.values()) disposeAdaptationData(d);
    }
  }

  /**
   * Step 3: fetch + validate; anything wrong with the bytes rejects the task for good, unless a
   * concurrent delivery applied the task meanwhile (and deleted the payload): `appliedAs` then.
   */
  private async fetchPayload(task: AdaptTaskData): Promise<FetchedPayload | { appliedAs: number }> {
    try {
      return await this.readPayload(task);
    } catch (e) {
      if (!(e instanceof WireFormatError || e instanceof PayloadMissingError || e instanceof PayloadCorruptError)) throw e;
      // A concurrent delivery of the same task may have committed it and deleted the payload.
      const applied = await this.deps.aux.appliedVersion(task.jobId, task.seq);
      if (applied !== null) return { appliedAs: applied };
      // Expired unread (a backlog outlived the TTL): the data still exist on the gpu-host.
      if (e instanceof PayloadMissingError) return this.askAgain(task, e);
      return this.reject(
        task,
        `fit task ${task.seq} of job ${task.jobId} has an unusable payload: ${(e as Error).message}`,
        'invalid_payload',
      );
    }
  }

  /**
   * Reads and decodes the task's payload; when it is gone and the gpu-host has published it
   * again, the new one (same seq, maybe computed with a newer aux version).
   */
  private async readPayload(task: AdaptTaskData): Promise<FetchedPayload> {
    let ref = task;
    let got: { data: Uint8Array; sha256: string };
    try {
      // One checksum per payload: the store verifies its frame, the decoder compares the reference with that hash.
      got = await this.deps.payloads.read(ref.payloadKey, ref.sha256);
    } catch (e) {
      if (!(e instanceof PayloadMissingError)) throw e;
      const entry = await this.deps.republish.get(task.jobId, task.seq);
      if (entry?.state !== 'published') throw e;
      ref = { ...task, payloadKey: entry.key, size: entry.size, sha256: entry.sha256, auxVersion: entry.auxVersion };
      got = await this.deps.payloads.read(ref.payloadKey, ref.sha256);
    }
    return {
      decoded: decodeAdaptation(got.data, toAdaptationTask(ref), got.sha256),
      payloadBytes: got.data.byteLength,
      payloadKey: ref.payloadKey,
    };
  }

  /**
   * Asks the gpu-host to publish the task's payload again (once per attempt, however many
   * trainers find it gone) and puts the task back to wait for it: nothing was applied, so the
   * batch is applied exactly once, from the new payload.
   */
  private async askAgain(task: AdaptTaskData, e: PayloadMissingError): Promise<never> {
    const entry: RepublishEntry | null = await this.deps.republish.get(task.jobId, task.seq);
    // A published answer whose payload expired too: the next attempt.
    const attempt = entry ? entry.attempt + (entry.state === 'published' ? 1 : 0) : 1;
    const since = entry?.state === 'requested' ? entry.requestedAtMs : Date.now();
    const request: RepublishRequest = { seq: task.seq, auxVersion: task.auxVersion, attempt, requestedAtMs: since };
    await this.deps.republish.request(task.jobId, request);
    throw new FitTaskNotReadyError(
      `job ${task.jobId} fit task ${task.seq}: ${e.key} expired before it was read; asked the gpu-host to publish it again (attempt ${attempt})`,
      'payload-missing',
      since,
    );
  }

  /** Fails the training job with a readable reason and an event, then the task for good. */
  private async reject(task: AdaptTaskData, message: string, code: JobErrorCode): Promise<never> {
    const error = new FitTaskRejectedError(message, code);
    // Refused when the job is no longer running (e.g. cancelling): the tenant's cancel stands.
    await this.deps.jobs.fail(task.jobId, 'aux-trainer', { code, message, param: null }, message);
    this.emit('rejected', task, error);
    throw error;
  }

  /** Step 1 for a task applied before: re-announce (idempotent) and clean up. */
  private async acknowledge(task: AdaptTaskData, version: number): Promise<FitTaskOutcome> {
    await this.announce(task, version, task.tenantId);
    const outcome: FitTaskOutcome = { status: 'duplicate', jobId: task.jobId, seq: task.seq, version };
    this.emit('processed', outcome);
    return outcome;
  }

  /** Step 5: announce the version to every consumer, then drop the payload. */
  private async announce(task: AdaptTaskData, version: number, tenantId: string): Promise<void> {
    const mergeable = this.cache.peek(task.jobId)?.adapters.mergeable ?? (await this.mergeableOf(task.jobId));
    const data: AuxPublishedData = {
      jobId: task.jobId,
      tenantId,
      version,
      seq: version - 1,
      stateKey: keys.auxVersion(task.jobId, version),
      mergeable,
      publishedAtMs: Date.now(),
    };
    await this.deps.publisher.publish(data);
    await this.deps.payloads.delete(task.payloadKey);
  }

  /**
   * Whether the job's aux is mergeable: fixed for the life of a job, so the head version answers
   * for every version (an old one may have expired). Decodes params only; acknowledgements of
   * uncached jobs are rare.
   */
  private async mergeableOf(jobId: string): Promise<boolean> {
    const head = await this.deps.aux.head(jobId);
    if (head === null) throw new Error(`job ${jobId} has no aux state to announce`);
    const s = decodeJobAuxState(await this.deps.aux.load(jobId, head), { paramsOnly: true });
    try {
      return s.adapters.mergeable;
    } finally {
      s.adapters.dispose();
    }
  }
}

/** A fit task's payload, read and decoded. */
interface FetchedPayload {
  decoded: DecodedAdaptation;
  payloadBytes: number;
  /** Where it was read: the task's own key, or the key it was published again under. */
  payloadKey: string;
}

/** Why the payload does not fit the state (exactly the job's taps, with matching widths), or null. */
function mismatch(state: JobAuxState, decoded: DecodedAdaptation): string | null {
  const want = state.adapters.taps;
  const got = [...decoded.layers.keys()];
  const missing = want.filter((t) => !decoded.layers.has(t));
  const extra = got.filter((t) => !state.adapters.layers.has(t));
  if (missing.length || extra.length) {
    return `its layers [${got.join(', ')}] must be the job's adapted layers [${want.join(', ')}]`;
  }
  for (const [tap, data] of decoded.layers) {
    const { adapter } = state.adapters.layers.get(tap)!;
    try {
      assertDataFits(data, adapter.dIn, adapter.dOut, `layer ${tap}`);
      if (data.kind === 'gram' && !supportsGram(adapter.config)) {
        return `layer ${tap} has gram data, but its ${adapter.config.type} aux needs the raw activations`;
      }
    } catch (e) {
      return (e as Error).message;
    }
  }
  return null;
}

/** What became non-finite in a fit step (a gradient norm or a weight), or null. */
function divergence(state: JobAuxState, gradNorms: Record<string, number>): string | null {
  const grad = Object.entries(gradNorms).find(([, n]) => !Number.isFinite(n));
  if (grad) return `the gradient norm of layer ${grad[0]} is ${grad[1]}`;
  const param = firstNonFiniteParam(state.adapters);
  return param ? `the aux weight ${param} became non-finite` : null;
}

/** Step 4: one GL fit step per layer with the schedule's lr at that layer's optimizer step. */
function fitStep(state: JobAuxState, decoded: DecodedAdaptation): Record<string, number> {
  const schedule = scheduleOf(state);
  const norms: Record<string, number> = {};
  for (const [tap, { adapter, optimizer }] of state.adapters.layers) {
    const data = decoded.layers.get(tap) as AdaptationData;
    norms[tap] = glFitStep(adapter, optimizer, data, { lr: schedule.lrAt(optimizer.stepCount), clipNorm: state.clipNorm }).gradNorm;
  }
  return norms;
}
