import { tf } from '../tf';
import { assertAdaptationData, disposeAdaptationData, type AdaptationData } from './adaptation-data';

/** Options of {@link IntervalBuffer}. */
export interface IntervalBufferOptions {
  /**
   * The adaptation interval I: how many batches are gathered before one fit step. I = 1 (no
   * buffering) reproduces LoRA step for step. Integer >= 1.
   */
  interval: number;
}

/**
 * Gathers the adaptation data of I batches of one layer, then hands back their merge for one fit
 * step (docs/design.md, "adaptation interval"). Raw data are concatenated row-wise; gram data are
 * summed, which is exact: X^T G over a concatenation is the sum of the parts' X^T G, and likewise
 * for colsum(G). Summing as we go keeps one gram in memory instead of I.
 *
 * The buffer keeps its own references: the caller may dispose what it pushed. What `push` returns
 * belongs to the caller.
 */
export class IntervalBuffer {
  readonly interval: number;
  private rows: { x: tf.Tensor2D; g: tf.Tensor2D }[] = [];
  private gram: { xtg: tf.Tensor2D; colsumG: tf.Tensor1D } | undefined;
  private count = 0;
  private dims: { kind: AdaptationData['kind']; dIn: number; dOut: number } | undefined;

  constructor(opts: IntervalBufferOptions) {
    if (!Number.isInteger(opts.interval) || opts.interval < 1) {
      throw new Error(`IntervalBuffer: interval must be an integer >= 1 (1 = fit after every batch), got ${opts.interval}`);
    }
    this.interval = opts.interval;
  }

  /** Batches held since the last merge. */
  get pending(): number {
    return this.count;
  }

  /**
   * Adds one batch. Returns the merged data of the last I batches when this was the I-th (and
   * starts over), otherwise undefined.
   */
  push(data: AdaptationData): AdaptationData | undefined {
    const dims = assertAdaptationData(data, 'IntervalBuffer.push');
    if (this.dims && (this.dims.kind !== data.kind || this.dims.dIn !== dims.dIn || this.dims.dOut !== dims.dOut)) {
      throw new Error(
        `IntervalBuffer.push: got ${data.kind} data [${dims.dIn} → ${dims.dOut}] after ${this.dims.kind} data [${this.dims.dIn} → ${this.dims.dOut}]; one buffer holds one layer in one transfer mode`,
      );
    }
    this.dims ??= { kind: data.kind, ...dims };
    if (data.kind === 'raw') {
      // clone shares the data (no copy); it only gives the buffer its own reference.
      this.rows.push({ x: tf.clone(data.x), g: tf.clone(data.g) });
    } else {
      const prev = this.gram;
      this.gram = prev
        ? tf.tidy(() => ({ xtg: tf.add(prev.xtg, data.xtg), colsumG: tf.add(prev.colsumG, data.colsumG) }))
        : { xtg: tf.clone(data.xtg), colsumG: tf.clone(data.colsumG) };
      if (prev) disposeAdaptationData({ kind: 'gram', ...prev });
    }
    this.count++;
    return this.count === this.interval ? this.drain() : undefined;
  }

  private drain(): AdaptationData {
    let out: AdaptationData;
    if (this.gram) {
      out = { kind: 'gram', ...this.gram };
    } else {
      const rows = this.rows;
      out =
        rows.length === 1
          ? { kind: 'raw', x: rows[0]!.x, g: rows[0]!.g }
          : tf.tidy(() => ({
              kind: 'raw' as const,
              x: tf.concat(
                rows.map((r) => r.x),
                0,
              ),
              g: tf.concat(
                rows.map((r) => r.g),
                0,
              ),
            }));
      if (rows.length > 1) rows.forEach((r) => disposeAdaptationData({ kind: 'raw', ...r }));
    }
    this.rows = [];
    this.gram = undefined;
    this.count = 0;
    this.dims = undefined;
    return out;
  }

  /** Drops what is held (e.g. when a job is cancelled mid-interval); returns tensors freed. */
  clear(): number {
    let freed = 0;
    for (const r of this.rows) freed += disposeAdaptationData({ kind: 'raw', ...r });
    if (this.gram) freed += disposeAdaptationData({ kind: 'gram', ...this.gram });
    this.rows = [];
    this.gram = undefined;
    this.count = 0;
    this.dims = undefined;
    return freed;
  }

  /** Frees what is held; returns how many tensors were freed. */
  dispose(): number {
    return this.clear();
  }
}
