import { disposeAdaptationData, gramOf, IntervalBuffer, tf, type AdaptationData } from '@cola/gl';
import type { FinetuneOptions, TaskBatch, TaskData } from '@cola/train';
import type { TransferSpec } from '../transfer/transfer-spec';
import type { BatchCursor } from './batch-cursor';
import { ClassifierHeads } from './classifier-heads';
import type { StepOutcome } from './host-step-runner';
import type { JobAux } from './job-aux';

/** Why a job left the scheduler before it finished training. */
export type StopReason = 'cancelled' | 'failed' | 'requeued';

/** Everything a {@link HostJob} is built from. */
export interface HostJobInit {
  jobId: string;
  tenantId: string;
  /** The equivalent single-process run's options (merged, interval, batches, seed...). */
  options: FinetuneOptions;
  transfer: TransferSpec;
  /** Bounded staleness K: fit tasks in flight. */
  staleness: number;
  /** The job's task data (also used for the final evaluation). */
  data: TaskData;
  /** Training batches from the job's resume position on. */
  cursor: BatchCursor;
  /** Head the job trains on (see ClassifierHeads). */
  headKey: string;
  /** The job's adapted taps, in its adapter order. */
  taps: string[];
  /** Fit tasks of the whole run: floor(total batches / I). */
  numTasks: number;
  /** Total host batches of the run (all epochs). */
  totalBatches: number;
  /** Seq of the next fit task (tasks before it are applied or in flight). */
  nextSeq: number;
  /** The aux version the job continues from. */
  aux: JobAux;
  /** Counters carried over from before a restart. */
  tokens: number;
  bytes: number;
}

/** One fit task's data, ready to encode. The caller disposes `layers`. */
export interface FitPayload {
  seq: number;
  /** The aux version every one of its batches was computed with. */
  auxVersion: number;
  /** Per tap in the job's order: raw (X, G) concatenated over the interval, or the summed gram. */
  layers: Map<string, AdaptationData>;
  numBatches: number;
  tokens: number;
  /** Mean host loss of its batches. */
  loss: number;
  /** Milliseconds the host spent on the X^T G reductions of its batches (gram mode; 0 otherwise). */
  gramMs: number;
}

/**
 * One active job on the gpu-host: its data position, the aux version it computes with, its
 * interval buffers and its fit tasks in flight.
 *
 * The aux version is pinned for a whole interval (the host keeps version v for I batches, as the
 * single-process stepper does); a newer version that arrives mid-interval is staged and swapped
 * in when the interval is published. A new interval starts only while fewer than K fit tasks are
 * in flight, so at most K ever are (K = 1: every interval uses the version made from the
 * previous one, which is the paper's synchronous schedule and equals the single-process run).
 */
export class HostJob {
  readonly jobId: string;
  readonly tenantId: string;
  readonly options: FinetuneOptions;
  readonly transfer: TransferSpec;
  readonly staleness: number;
  readonly data: TaskData;
  readonly cursor: BatchCursor;
  readonly headKey: string;
  readonly taps: readonly string[];
  readonly numTasks: number;
  readonly totalBatches: number;
  /** Jobs with equal pack keys can share a mixed batch: same head kind, label count and sequence length. */
  readonly packKey: string;
  /** Set when the job must leave the scheduler. */
  stopReason: StopReason | undefined;
  /** Cumulative counters for progress. */
  tokens: number;
  bytes: number;
  lastLoss = NaN;
  private next: number;
  private current: JobAux;
  private staged: JobAux | undefined;
  private readonly buffers = new Map<string, IntervalBuffer>();
  private pending = { batches: 0, tokens: 0, loss: 0, gramMs: 0 };
  /** Milliseconds of X^T G reductions of the last absorbed batch (gram mode), for the gpu-host's metric. */
  lastGramMs = 0;

  constructor(init: HostJobInit) {
    this.jobId = init.jobId;
    this.tenantId = init.tenantId;
    this.options = init.options;
    this.transfer = init.transfer;
    this.staleness = init.staleness;
    this.data = init.data;
    this.cursor = init.cursor;
    this.headKey = init.headKey;
    this.taps = init.taps;
    this.numTasks = init.numTasks;
    this.totalBatches = init.totalBatches;
    this.next = init.nextSeq;
    this.current = init.aux;
    this.tokens = init.tokens;
    this.bytes = init.bytes;
    this.packKey = `${ClassifierHeads.familyOf(init.headKey)}/${init.options.maxLength}`;
    for (const tap of init.taps) this.buffers.set(tap, new IntervalBuffer({ interval: init.options.interval }));
  }

  /** Seq of the next fit task to publish. */
  get nextSeq(): number {
    return this.next;
  }

  /** The newest aux version the host holds (staged or in use). */
  get auxVersion(): number {
    return this.staged?.version ?? this.current.version;
  }

  /** The aux the next host step uses. */
  get aux(): JobAux {
    return this.current;
  }

  /** Fit tasks published but not yet reflected in a version the host holds. */
  get inFlight(): number {
    return this.next - this.auxVersion;
  }

  /** Host batches done (the data position). */
  get step(): number {
    return this.cursor.position;
  }

  /** True while an interval is partly filled. */
  get midInterval(): boolean {
    return this.pending.batches > 0;
  }

  /** Whether the job can take a batch now: data left, and an open interval or a free fit slot. */
  get ready(): boolean {
    if (this.stopReason || this.next >= this.numTasks) return false;
    return this.midInterval || this.inFlight < this.staleness;
  }

  /** Every fit task published and applied: time for the final evaluation. */
  get trained(): boolean {
    return !this.stopReason && this.next >= this.numTasks && this.auxVersion >= this.numTasks;
  }

  /**
   * Hands over a newer aux version (the caller must not use `aux` afterwards); older or equal
   * versions are disposed at once. Mid-interval it waits for the interval's end.
   */
  offerAux(aux: JobAux): boolean {
    if (aux.version <= this.auxVersion) {
      aux.dispose();
      return false;
    }
    this.staged?.dispose();
    this.staged = aux;
    if (!this.midInterval) this.swapStaged();
    return true;
  }

  /** The next training batch; swaps in a staged aux first when an interval starts. */
  takeBatch(): TaskBatch {
    if (!this.midInterval) this.swapStaged();
    const b = this.cursor.next();
    if (!b) throw new Error(`job ${this.jobId}: no batch left at position ${this.cursor.position}`);
    return b;
  }

  /**
   * Takes one host step's outcome (and disposes its tensors): buffers X, G (or their gram) per
   * tap and returns the fit task once I batches are in.
   */
  absorb(outcome: StepOutcome): FitPayload | undefined {
    let ready: Map<string, AdaptationData> | undefined;
    let gramMs = 0;
    try {
      for (const tap of this.taps) {
        const t = outcome.taps.get(tap);
        if (!t) throw new Error(`job ${this.jobId}: the host step returned no data for tap ${tap}`);
        // Gram mode sums X^T G over the interval instead of holding I batches of rows.
        const g0 = performance.now();
        const data: AdaptationData = this.transfer.mode === 'gram' ? gramOf(t.x, t.g) : { kind: 'raw', x: t.x, g: t.g };
        if (data.kind === 'gram') gramMs += performance.now() - g0;
        const out = this.buffers.get(tap)!.push(data);
        if (data.kind === 'gram') disposeAdaptationData(data);
        if (out) (ready ??= new Map()).set(tap, out);
      }
    } catch (e) {
      if (ready) for (const d of ready.values()) disposeAdaptationData(d);
      throw e;
    } finally {
      for (const { x, g } of outcome.taps.values()) tf.dispose([x, g]);
    }
    this.pending.batches++;
    this.pending.tokens += outcome.tokens;
    this.pending.loss += outcome.loss;
    this.pending.gramMs += gramMs;
    this.lastGramMs = gramMs;
    this.tokens += outcome.tokens;
    this.lastLoss = outcome.loss;
    if (!ready) return undefined;
    const p = this.pending;
    const payload: FitPayload = {
      seq: this.next,
      auxVersion: this.current.version,
      layers: ready,
      numBatches: p.batches,
      tokens: p.tokens,
      loss: p.loss / p.batches,
      gramMs: p.gramMs,
    };
    this.next++;
    this.pending = { batches: 0, tokens: 0, loss: 0, gramMs: 0 };
    this.swapStaged();
    return payload;
  }

  /** Drops a partly filled interval (cancel, failure, requeue). */
  clearBuffers(): void {
    for (const b of this.buffers.values()) b.clear();
    this.pending = { batches: 0, tokens: 0, loss: 0, gramMs: 0 };
  }

  /** Frees the buffers and the aux weights. */
  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.current.dispose();
    this.staged?.dispose();
    this.staged = undefined;
  }

  private swapStaged(): void {
    if (!this.staged) return;
    this.current.dispose();
    this.current = this.staged;
    this.staged = undefined;
  }
}
