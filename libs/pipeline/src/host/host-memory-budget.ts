import { HOST_MEMORY_BUDGET_MB } from '@cola/config';
import { backendMemory, tf } from '@cola/gl';
import { hostStep, type GptHead, type GptModel } from '@cola/model';

const MIB = 2 ** 20;
/** Share of the budget (past the heap's fixed part) tensor buffers may fill; the rest absorbs fragmentation. */
const FRAGMENTATION_SHARE = 0.8;

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
  /** Heap bytes that are not tensor buffers (the wasm module's static data and stack), measured at construction. */
  private readonly heapReserve: number;

  constructor(
    private readonly model: GptModel,
    /** The budget in MiB. */
    readonly budgetMb: number,
  ) {
    if (!Number.isInteger(budgetMb) || budgetMb < HOST_MEMORY_BUDGET_MB.min || budgetMb > HOST_MEMORY_BUDGET_MB.max)
      throw new RangeError(
        `memory budget must be an integer from ${HOST_MEMORY_BUDGET_MB.min} to ${HOST_MEMORY_BUDGET_MB.max} MiB, got ${budgetMb}`,
      );
    const mem = backendMemory();
    this.heapReserve = mem ? Math.max(0, mem.heapBytes - mem.liveBytes) : 0;
  }

  /**
   * Bytes tensor buffers may take: the budget less the part of the backend heap that is not
   * tensor buffers, less a fifth of the rest for the allocator's fragmentation (buffers of many
   * sizes come and go; measured on the memory-budget pipeline test, the wasm heap grew 10-20% past
   * the buffers' own peak). So the heap itself, which the wasm32 ceiling applies to, stays within the budget.
   */
  get bytes(): number {
    return FRAGMENTATION_SHARE * (this.budgetMb * MIB - this.heapReserve);
  }

  /**
   * The compute backend's own heap in bytes, where it has one: the wasm backend's linear memory,
   * which only ever grows, so this is its high-water mark (the figure that must stay clear of the
   * 4 GiB wasm32 ceiling). Undefined on backends without such a heap.
   */
  backendHeapBytes(): number | undefined {
    return backendMemory()?.heapBytes;
  }

  /**
   * Bytes of tensor buffers live now: the backend's exact allocator count where it keeps one
   * (wasm), else tfjs's own count (which counts a buffer shared by several tensors more than once).
   */
  liveBytes(): number {
    return backendMemory()?.liveBytes ?? tf.memory().numBytes;
  }

  /** The most tensor bytes live at once since the host started (wasm's allocator count), if the backend keeps one. */
  peakBytes(): number | undefined {
    return backendMemory()?.peakBytes;
  }

  /** Peak transient bytes of one row of a host step (measured once per key). */
  async bytesPerRow(head: GptHead, seqLen: number, taps: readonly string[]): Promise<number> {
    const key = `${head}:${seqLen}:${taps.join(',')}`;
    const known = this.rowBytes.get(key);
    if (known !== undefined) return known;
    const ids = new Int32Array(seqLen).map((_, t) => t % this.model.config.vocabSize);
    const batch = { ids, mask: new Int32Array(seqLen).fill(1), batch: 1, seqLen };
    const step = (): void => {
      const r = hostStep(this.model, batch, { head, taps, labels: head === 'cls' ? Int32Array.of(0) : undefined });
      for (const { x, g } of r.taps.values()) tf.dispose([x, g]);
    };
    const mem = backendMemory();
    let bytes: number;
    if (mem) {
      // The allocator's own high-water mark over one step (kept as the host's peak afterwards).
      const peakSoFar = mem.peakBytes;
      mem.resetPeak();
      const before = mem.liveBytes;
      step();
      bytes = Math.max(1, mem.peakBytes - before);
      mem.restorePeak(peakSoFar);
    } else {
      const before = tf.memory().numBytes;
      bytes = Math.max(1, (await tf.profile(step)).peakBytes - before);
    }
    this.rowBytes.set(key, bytes);
    return bytes;
  }

  /**
   * Most rows one chunk of a host step may take now: what the budget leaves beside the tensors
   * already live (weights, aux, buffers), over the bytes per row; at least 1.
   */
  async rowsPerChunk(head: GptHead, seqLen: number, taps: readonly string[]): Promise<number> {
    return this.rowsFor(await this.bytesPerRow(head, seqLen, taps));
  }

  /** Most rows of `perRow` bytes each that fit beside the tensors live now and `reserve` more bytes; at least 1. */
  rowsFor(perRow: number, reserve = 0): number {
    return Math.max(1, Math.floor((this.bytes - this.liveBytes() - reserve) / perRow));
  }

  /** Bytes the budget leaves beside the tensors live now (negative when over). */
  freeBytes(): number {
    return this.bytes - this.liveBytes();
  }

  /**
   * Whether a job holding `residentBytes`, plus a one-row step of `rowBytes`, fits beside the
   * tensors live now. A reason for the job's events when it does not.
   */
  admits(residentBytes: number, rowBytes: number): { ok: true } | { ok: false; reason: string } {
    const live = this.liveBytes();
    const need = residentBytes + rowBytes;
    if (live + need <= this.bytes) return { ok: true };
    const mb = (b: number): string => `${(b / MIB).toFixed(0)} MiB`;
    return {
      ok: false,
      reason: `waiting for gpu-host memory: the job needs ${mb(need)} (its buffers ${mb(residentBytes)} and one row of a step ${mb(rowBytes)}); ${mb(live)} of the ${this.budgetMb} MiB budget is in use`,
    };
  }
}
