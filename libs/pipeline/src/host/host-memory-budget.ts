import { HOST_MEMORY_BUDGET_MB } from '@cola/config';
import { tf } from '@cola/gl';
import { hostStep, type GptHead, type GptModel } from '@cola/model';

const MIB = 2 ** 20;

/**
 * The gpu-host's memory budget: how many rows of a batch one host-step chunk may take, and
 * whether one more job fits beside the ones it trains.
 *
 * A host step's transient memory grows linearly with its rows (at a fixed sequence length): it
 * is measured once per (head, sequence length, taps) by profiling a one-row step, whose bytes
 * per row slightly overstate a longer chunk's (fixed costs are spread over one row only).
 */
export class HostMemoryBudget {
  private readonly rowBytes = new Map<string, number>();

  constructor(
    private readonly model: GptModel,
    /** The budget in MiB. */
    readonly budgetMb: number,
  ) {
    if (!Number.isInteger(budgetMb) || budgetMb < HOST_MEMORY_BUDGET_MB.min || budgetMb > HOST_MEMORY_BUDGET_MB.max)
      throw new RangeError(
        `memory budget must be an integer from ${HOST_MEMORY_BUDGET_MB.min} to ${HOST_MEMORY_BUDGET_MB.max} MiB, got ${budgetMb}`,
      );
  }

  /** The budget in bytes. */
  get bytes(): number {
    return this.budgetMb * MIB;
  }

  /**
   * The compute backend's own heap in bytes, where it has one: the wasm backend's linear memory,
   * which only ever grows, so this is its high-water mark (the figure that must stay clear of the
   * 4 GiB wasm32 ceiling). Undefined on backends without such a heap.
   */
  backendHeapBytes(): number | undefined {
    const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
    return wasm?.HEAPU8?.buffer.byteLength;
  }

  /** Peak transient bytes of one row of a host step (measured once per key). */
  async bytesPerRow(head: GptHead, seqLen: number, taps: readonly string[]): Promise<number> {
    const key = `${head}:${seqLen}:${taps.join(',')}`;
    const known = this.rowBytes.get(key);
    if (known !== undefined) return known;
    const ids = new Int32Array(seqLen).map((_, t) => t % this.model.config.vocabSize);
    const batch = { ids, mask: new Int32Array(seqLen).fill(1), batch: 1, seqLen };
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => {
      const r = hostStep(this.model, batch, { head, taps, labels: head === 'cls' ? Int32Array.of(0) : undefined });
      for (const { x, g } of r.taps.values()) tf.dispose([x, g]);
    });
    const bytes = Math.max(1, info.peakBytes - before);
    this.rowBytes.set(key, bytes);
    return bytes;
  }

  /**
   * Most rows one chunk of a host step may take now: what the budget leaves beside the tensors
   * already live (weights, aux, buffers), over the bytes per row; at least 1.
   */
  async rowsPerChunk(head: GptHead, seqLen: number, taps: readonly string[]): Promise<number> {
    const perRow = await this.bytesPerRow(head, seqLen, taps);
    const free = this.bytes - tf.memory().numBytes;
    return Math.max(1, Math.floor(free / perRow));
  }

  /**
   * Whether a job holding `residentBytes`, plus a one-row step of `rowBytes`, fits beside the
   * tensors live now. A reason for the job's events when it does not.
   */
  admits(residentBytes: number, rowBytes: number): { ok: true } | { ok: false; reason: string } {
    const live = tf.memory().numBytes;
    const need = residentBytes + rowBytes;
    if (live + need <= this.bytes) return { ok: true };
    const mb = (b: number): string => `${(b / MIB).toFixed(0)} MiB`;
    return {
      ok: false,
      reason: `waiting for gpu-host memory: the job needs ${mb(need)} (its buffers ${mb(residentBytes)} and one row of a step ${mb(rowBytes)}); ${mb(live)} of the ${mb(this.bytes)} budget is in use`,
    };
  }
}
