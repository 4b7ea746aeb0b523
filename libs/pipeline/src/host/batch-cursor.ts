import type { TaskBatch, TaskData } from '@cola/train';

/** Options of {@link BatchCursor}. */
export interface BatchCursorOptions {
  /** Sequences per batch. */
  batchSize: number;
  /** Tokens per sequence. */
  maxLength: number;
  /** Shuffle seed (with the epoch), as in `finetune`. */
  seed: number;
  /** Batches of the whole run over every epoch; the cursor ends there. */
  total: number;
  /** Global batch index to start at (a resumed job starts after the batches already fitted). */
  start: number;
}

/**
 * Walks a job's training batches in exactly `finetune`'s order (epoch 0, 1, ... each shuffled by
 * seed and epoch) from a global batch position, so a job resumed at position p sees the same
 * batch p as an uninterrupted run. Batches are built lazily, one at a time.
 */
export class BatchCursor {
  /** Batches of one epoch. */
  readonly perEpoch: number;
  private pos: number;
  private iter: Iterator<TaskBatch> | undefined;
  private iterEpoch = -1;

  constructor(
    private readonly data: TaskData,
    private readonly opts: BatchCursorOptions,
  ) {
    this.perEpoch = data.train({ batchSize: opts.batchSize, maxLength: opts.maxLength, seed: opts.seed, epoch: 0 }).numBatches;
    if (!Number.isInteger(opts.start) || opts.start < 0 || opts.start > opts.total) {
      throw new RangeError(`BatchCursor: start must be an integer in [0, ${opts.total}], got ${opts.start}`);
    }
    this.pos = opts.start;
  }

  /** Global index of the next batch. */
  get position(): number {
    return this.pos;
  }

  /** Epoch of the next batch (of the last one once the cursor is done). */
  get epoch(): number {
    return this.perEpoch === 0 ? 0 : Math.floor(Math.min(this.pos, Math.max(0, this.opts.total - 1)) / this.perEpoch);
  }

  /** True when every batch was handed out. */
  get done(): boolean {
    return this.pos >= this.opts.total;
  }

  /** The next batch, or undefined at the end. */
  next(): TaskBatch | undefined {
    if (this.done || this.perEpoch === 0) return undefined;
    const epoch = Math.floor(this.pos / this.perEpoch);
    if (epoch !== this.iterEpoch || !this.iter) {
      const { batchSize, maxLength, seed } = this.opts;
      this.iter = this.data.train({ batchSize, maxLength, seed, epoch })[Symbol.iterator]();
      this.iterEpoch = epoch;
      // Skip to the position inside the epoch (resume); batches are built only to be dropped.
      for (let i = 0; i < this.pos % this.perEpoch; i++) this.iter.next();
    }
    const r = this.iter.next();
    if (r.done) throw new Error(`BatchCursor: epoch ${epoch} ended before its ${this.perEpoch} batches`);
    this.pos++;
    return r.value;
  }
}
