import { disposeDeltas, tf, type AdapterDelta, type AdapterSet } from '@cola/gl';
import { GptModel, initClassificationHead, type InjectFn, type TapDelta } from '@cola/model';
import type { AuxStateStore } from '@cola/store';
import { JobSpecError, validateJobSpec } from '../jobs/job-spec';
import type { JobStore } from '../jobs/job-store';
import { decodeJobAuxState } from '../state/job-aux-state';
import { InferenceError } from './inference-error';
import { BASE_MODEL_NAME, parseModelName, type ModelName } from './model-name';
import { decodeServedRecord, meanDeltas, type ServedMeta } from './served-deltas';
import type { ServedStore } from './served-store';

/** A model ready to answer requests: base weights, a head, and the job's aux at one version. */
export interface LoadedModel {
  /** The name it is served under (`base` or `ft:<base>:<tenant>:<job>`). */
  readonly name: string;
  /** The job, or undefined for the base model. */
  readonly jobId: string | undefined;
  /** Aux version reflected (0 for the base model or a job with no published version yet). */
  readonly version: number;
  /** What the model does: a classification job has a `score` head over `labels`. */
  readonly task: 'classification' | 'causal_lm';
  /** Class names in head-output order (classification). */
  readonly labels: readonly string[];
  /** Tokens per window the job was trained with. */
  readonly maxLength: number;
  /** Windows per input the job was trained with: a longer input is cut after maxLength x maxWindows tokens. */
  readonly maxWindows: number;
  /** True when the aux is folded into the weights (W + dW); false when injected (mlp). */
  readonly merged: boolean;
  /** The merge group the deltas come from ('' when served alone). */
  readonly mergeGroup: string;
  /** When the served version was written (ms since the epoch; 0 when none was). */
  readonly updatedAtMs: number;
  /** The base weights with the job's classifier head. */
  readonly model: GptModel;
  /** Merged deltas per tap (mergeable aux). */
  readonly deltas: ReadonlyMap<string, TapDelta> | undefined;
  /** Injected aux outputs per tap (mlp aux). */
  readonly inject: InjectFn | undefined;
}

/** A loaded model handed to one request; `release()` it when done (it may be freed after). */
export interface ModelLease {
  readonly loaded: LoadedModel;
  release(): void;
}

/** Options of {@link ServedModels}. */
export interface ServedModelsOptions {
  /** Name of the base model this merger serves (the `<base>` of `ft:<base>:...` when a job's spec names none). */
  baseModelName: string;
  /** Fine-tuned models kept loaded; the least recently used idle one is freed beyond it. Default 16. */
  maxModels: number;
}

/** Collaborators of {@link ServedModels}. */
export interface ServedModelsDeps {
  /** The frozen base model (owned by the caller; never disposed here). */
  base: GptModel;
  served: ServedStore;
  aux: Pick<AuxStateStore, 'load'>;
  jobs: Pick<JobStore, 'get'>;
}

interface Entry {
  loaded: LoadedModel;
  /** Identifies the served data it was built from: job versions (all members for a group). */
  signature: string;
  users: number;
  retired: boolean;
  /** Frees what the entry owns (not the base weights). */
  free(): void;
}

/** What a fine-tuned model is served from right now, read from Redis on each request. */
interface ServedSource {
  jobId: string;
  spec: NonNullable<Awaited<ReturnType<JobStore['get']>>>['spec'];
  task: 'classification' | 'causal_lm';
  labels: string[];
  seed: number;
  maxLength: number;
  maxWindows: number;
  own: ServedMeta | null;
  group: string;
  /** Members and their served meta (the job alone when it has no group). */
  members: { jobId: string; meta: ServedMeta | null }[];
  signature: string;
}

/**
 * The models the merger serves, cached per (job, served versions). Every request reads the served
 * versions from Redis (header reads, no tensor bytes), so any number of merger replicas answer
 * with the newest version whichever of them handled the "aux published" event; the weights are
 * rebuilt only when a version changed.
 *
 * Base weights are shared: a classification job's model is a second GptModel over the same
 * tensor data (`tf.clone` copies nothing) with the job's own head, set up exactly as `finetune`
 * sets it up (the base's head when it has the job's label count, else a head seeded by the job).
 */
export class ServedModels {
  private readonly opts: ServedModelsOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly building = new Map<string, Promise<Entry>>();
  private readonly baseEntry: Entry;

  constructor(
    private readonly deps: ServedModelsDeps,
    opts: Partial<ServedModelsOptions> & Pick<ServedModelsOptions, 'baseModelName'>,
  ) {
    this.opts = { maxModels: 16, ...opts };
    if (!Number.isInteger(this.opts.maxModels) || this.opts.maxModels < 1)
      throw new RangeError(`ServedModels: maxModels must be an integer >= 1, got ${this.opts.maxModels}`);
    const numLabels = deps.base.config.numLabels;
    this.baseEntry = {
      loaded: {
        name: BASE_MODEL_NAME,
        jobId: undefined,
        version: 0,
        task: numLabels === undefined ? 'causal_lm' : 'classification',
        labels: Array.from({ length: numLabels ?? 0 }, (_, i) => `LABEL_${i}`),
        maxLength: deps.base.config.nPositions,
        maxWindows: 1,
        merged: true,
        mergeGroup: '',
        updatedAtMs: 0,
        model: deps.base,
        deltas: undefined,
        inject: undefined,
      },
      signature: 'base',
      users: 0,
      retired: false,
      free: () => undefined,
    };
  }

  /** Fine-tuned models currently loaded. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Resolves `name` to a loaded model at the newest served version and leases it to the caller.
   * @throws InferenceError not_found / invalid_argument / failed_precondition.
   */
  async acquire(name: string): Promise<ModelLease> {
    let parsed: ModelName;
    try {
      parsed = parseModelName(name);
    } catch (e) {
      throw new InferenceError('invalid_argument', (e as Error).message);
    }
    if (parsed.kind === 'base') return this.lease(this.baseEntry);
    const source = await this.sourceOf(name, parsed);
    const cached = this.entries.get(source.jobId);
    if (cached && cached.signature === source.signature) {
      // Most recently used last: re-insert.
      this.entries.delete(source.jobId);
      this.entries.set(source.jobId, cached);
      return this.lease(cached);
    }
    const key = `${source.jobId}|${source.signature}`;
    let pending = this.building.get(key);
    if (!pending) {
      pending = this.build(name, source).finally(() => this.building.delete(key));
      this.building.set(key, pending);
    }
    const entry = await pending;
    // Install unless a concurrent request installed an equal or newer build meanwhile.
    const now = this.entries.get(source.jobId);
    if (now !== entry) {
      if (now) this.retire(now);
      this.entries.delete(source.jobId);
      this.entries.set(source.jobId, entry);
      this.evict();
    }
    return this.lease(entry);
  }

  /** Frees every loaded fine-tuned model (leased ones when they are released). */
  clear(): void {
    for (const e of this.entries.values()) this.retire(e);
    this.entries.clear();
  }

  private lease(e: Entry): ModelLease {
    // Counted synchronously with the lookup, so no refresh can free it under a running request.
    e.users++;
    let released = false;
    return {
      loaded: e.loaded,
      release: () => {
        if (released) return;
        released = true;
        e.users--;
        if (e.retired && e.users === 0) e.free();
      },
    };
  }

  private retire(e: Entry): void {
    if (e.retired) return;
    e.retired = true;
    if (e.users === 0) e.free();
  }

  private evict(): void {
    for (const [jobId, e] of this.entries) {
      if (this.entries.size <= this.opts.maxModels) return;
      this.entries.delete(jobId);
      this.retire(e);
    }
  }

  /** Reads the job record and the served versions: what the model must reflect now. */
  private async sourceOf(name: string, m: Extract<ModelName, { kind: 'ft' }>): Promise<ServedSource> {
    const record = await this.deps.jobs.get(m.jobId);
    // One message for every mismatch: a tenant must not learn that another tenant's job exists.
    const notFound = new InferenceError('not_found', `model "${name}" does not exist; list the served models with Status`);
    if (!record || record.spec.tenantId !== m.tenantId) throw notFound;
    const base = record.spec.baseModel || this.opts.baseModelName;
    if (base !== m.base) throw notFound;
    let labels: string[];
    let task: ServedSource['task'];
    let seed: number;
    let maxLength: number;
    let maxWindows: number;
    try {
      const v = validateJobSpec(record.spec);
      task = v.task;
      labels = [...record.spec.labels];
      seed = v.options.seed;
      // What the gpu-host resolved (its `auto` values): Classify windows inputs exactly as training did.
      maxLength = record.resolved?.maxLength ?? v.options.maxLength;
      maxWindows = record.resolved?.maxWindows ?? v.given.maxWindows ?? 1;
    } catch (e) {
      if (e instanceof JobSpecError)
        throw new InferenceError('failed_precondition', `model "${name}" cannot be served: its job spec is invalid (${e.message})`);
      throw e;
    }
    const group = record.spec.method?.mergeGroup ?? '';
    const ids = group ? [...new Set([...(await this.deps.served.members(record.spec.tenantId, group)), m.jobId])].sort() : [m.jobId];
    const members = await Promise.all(ids.map(async (jobId) => ({ jobId, meta: await this.deps.served.meta(jobId) })));
    const own = members.find((x) => x.jobId === m.jobId)!.meta;
    // The windowing is part of it: a model loaded before the gpu-host resolved `auto` is rebuilt after.
    const signature = `${maxLength}x${maxWindows}|${members.map((x) => `${x.jobId}@${x.meta?.version ?? 0}:${x.meta?.updatedAtMs ?? 0}`).join(',')}`;
    return { jobId: m.jobId, spec: record.spec, task, labels, seed, maxLength, maxWindows, own, group, members, signature };
  }

  private async build(name: string, s: ServedSource): Promise<Entry> {
    const owned: { deltas?: Map<string, AdapterDelta>; adapters?: AdapterSet; model?: GptModel } = {};
    const free = (): void => {
      if (owned.deltas) disposeDeltas(owned.deltas);
      owned.adapters?.dispose();
      owned.model?.dispose();
    };
    try {
      const merged = s.own?.mergeable ?? true;
      if (s.group && merged) owned.deltas = await this.groupDeltas(s);
      else if (s.own && merged && s.own.version > 0) owned.deltas = await this.memberDeltas(s.jobId);
      else if (s.own && !merged) {
        const state = decodeJobAuxState(await this.deps.aux.load(s.jobId, s.own.version), { paramsOnly: true });
        owned.adapters = state.adapters;
      }
      // Version 0 (nothing published yet) needs no aux at all: every aux starts as g = 0.
      const model = s.task === 'classification' ? this.classifierOf(s.labels.length, s.seed) : this.deps.base;
      if (model !== this.deps.base) owned.model = model;
      const loaded: LoadedModel = {
        name,
        jobId: s.jobId,
        version: s.own?.version ?? 0,
        task: s.task,
        labels: s.labels,
        maxLength: Math.min(s.maxLength, this.deps.base.config.nPositions),
        maxWindows: s.maxWindows,
        merged,
        mergeGroup: s.group,
        updatedAtMs: s.own?.updatedAtMs ?? 0,
        model,
        deltas: owned.deltas,
        inject: owned.adapters?.inject,
      };
      return { loaded, signature: s.signature, users: 0, retired: false, free };
    } catch (e) {
      free();
      throw e;
    }
  }

  /** A job's stored deltas, as live tensors. */
  private async memberDeltas(jobId: string): Promise<Map<string, AdapterDelta>> {
    const bytes = await this.deps.served.get(jobId);
    return bytes ? decodeServedRecord(bytes, `served record of job ${jobId}`).deltas : new Map();
  }

  /** The collaborative merge: mean over the group's members of their deltas. */
  private async groupDeltas(s: ServedSource): Promise<Map<string, AdapterDelta>> {
    const maps: Map<string, AdapterDelta>[] = [];
    try {
      for (const m of s.members) {
        if (m.meta && !m.meta.mergeable) {
          throw new InferenceError(
            'failed_precondition',
            `merge group "${s.group}" holds job ${m.jobId}, whose mlp aux cannot be merged; a merge group needs lowrank or linear aux`,
          );
        }
        if (m.meta && m.meta.version > 0) maps.push(await this.memberDeltas(m.jobId));
      }
      // Members without a published version count with their initial delta, zero.
      return meanDeltas(maps, s.members.length);
    } finally {
      for (const m of maps) disposeDeltas(m);
    }
  }

  /**
   * The base weights with a classification job's head, as `finetune` sets it up: the base's own
   * head when it has `numLabels` classes, else one initialised with the job's seed.
   */
  private classifierOf(numLabels: number, seed: number): GptModel {
    const base = this.deps.base;
    const weights = new Map<string, tf.Tensor>();
    for (const n of base.names()) weights.set(n, tf.clone(base.weight(n)));
    const model = new GptModel(base.config, weights);
    if (base.config.numLabels !== numLabels) initClassificationHead(model, numLabels, { seed });
    return model;
  }
}
