import { tf } from '../tf';

/** The slice of the wasm module the allocator accounting wraps. */
interface WasmModule {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
  /** The raw exports: Emscripten's `_malloc` stub replaces itself with `asm.malloc` on first call. */
  asm?: { malloc?: (bytes: number) => number; free?: (ptr: number) => void };
}

/**
 * Exact byte accounting of the wasm backend's tensor buffers: every buffer the backend allocates
 * and frees goes through its module's `_malloc` and `_free`, which are wrapped to keep the live
 * total and its high-water mark. Unlike `tf.memory().numBytes` (which counts a buffer once per
 * tensor that shares it: reshapes, saved clones) this is what the heap really holds, fragmentation
 * and kernels' internal scratch aside; the heap size itself is reported beside it.
 */
export class BackendMemory {
  private readonly sizes = new Map<number, number>();
  private live = 0;
  private peak = 0;

  constructor(private readonly wasm: WasmModule) {
    const malloc = wasm.asm?.malloc ?? wasm._malloc.bind(wasm);
    const free = wasm.asm?.free ?? wasm._free.bind(wasm);
    wasm._malloc = (bytes: number): number => {
      const ptr = malloc(bytes);
      this.sizes.set(ptr, bytes);
      this.live += bytes;
      if (this.live > this.peak) this.peak = this.live;
      return ptr;
    };
    wasm._free = (ptr: number): void => {
      const bytes = this.sizes.get(ptr);
      if (bytes !== undefined) {
        this.sizes.delete(ptr);
        this.live -= bytes;
      }
      free(ptr);
    };
  }

  /** Bytes of tensor buffers allocated now. */
  get liveBytes(): number {
    return this.live;
  }

  /** The most bytes allocated at once since the start or the last {@link resetPeak}. */
  get peakBytes(): number {
    return this.peak;
  }

  /** Starts a new high-water mark from the bytes live now. */
  resetPeak(): void {
    this.peak = this.live;
  }

  /** Raises the high-water mark back to at least `peak` (after a {@link resetPeak} to measure one step). */
  restorePeak(peak: number): void {
    this.peak = Math.max(this.peak, peak);
  }

  /** The wasm heap's size: it only grows, so this is its own high-water mark (the 4 GiB wasm32 ceiling applies to it). */
  get heapBytes(): number {
    return this.wasm.HEAPU8.buffer.byteLength;
  }
}

let tracker: BackendMemory | undefined;

/** Installs the accounting on the wasm backend (once, before its first tensor); a no-op elsewhere. */
export function trackBackendMemory(backendName: string): void {
  if (backendName !== 'wasm' || tracker) return;
  const wasm = (tf.findBackend('wasm') as unknown as { wasm?: WasmModule } | null)?.wasm;
  if (wasm) tracker = new BackendMemory(wasm);
}

/** The backend's byte accounting, or undefined on a backend without one (not wasm). */
export function backendMemory(): BackendMemory | undefined {
  return tf.getBackend() === 'wasm' ? tracker : undefined;
}
