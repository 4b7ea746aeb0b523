import { FRAME_HEADER_BYTES, sealFrame } from './checksum-frame';

/** A frame buffer lent by a {@link FramePool}: fill `data`, then store `frame`; release it after. */
export interface FrameLease {
  /** The whole frame (header + data), exactly `FRAME_HEADER_BYTES + size` bytes. */
  readonly frame: Buffer;
  /** The data region to fill, `size` bytes. */
  readonly data: Uint8Array;
  /** Writes the header (length, SHA-256 of the data) and returns the data's hex SHA-256. */
  seal(): string;
  /** Gives the buffer back to the pool; the lease must not be used afterwards. */
  release(): void;
}

/** Options of a {@link FramePool}. */
export interface FramePoolOptions {
  /** Idle buffers kept for reuse (default 2: the gpu-host writes one payload at a time, plus one spare). */
  maxIdle?: number;
}

/**
 * Reusable frame buffers for payloads. A fresh multi-MB buffer per payload costs page faults on
 * every byte it touches; a pooled one is already mapped. A buffer is lent to one payload at a
 * time and comes back when the write to Redis has completed.
 */
export class FramePool {
  private readonly idle: Buffer[] = [];
  private readonly maxIdle: number;

  constructor(options: FramePoolOptions = {}) {
    this.maxIdle = options.maxIdle ?? 2;
    if (!Number.isSafeInteger(this.maxIdle) || this.maxIdle < 0)
      throw new RangeError(`FramePool: maxIdle must be ≥ 0, got ${this.maxIdle}`);
  }

  /** Lends a frame for `size` data bytes. */
  lease(size: number): FrameLease {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`FramePool.lease: size must be a whole number ≥ 0, got ${size}`);
    const need = FRAME_HEADER_BYTES + size;
    let best = -1;
    for (let i = 0; i < this.idle.length; i++) {
      const b = this.idle[i]!;
      if (b.byteLength >= need && (best < 0 || b.byteLength < this.idle[best]!.byteLength)) best = i;
    }
    // Round fresh buffers up to 64 kB so payloads that grow a little reuse them.
    const buffer = best >= 0 ? this.idle.splice(best, 1)[0]! : Buffer.allocUnsafe(Math.ceil(need / 65536) * 65536);
    const frame = buffer.subarray(0, need);
    let released = false;
    return {
      frame,
      data: frame.subarray(FRAME_HEADER_BYTES),
      seal: () => sealFrame(frame),
      release: () => {
        if (released) return;
        released = true;
        this.idle.push(buffer);
        if (this.idle.length > this.maxIdle) {
          // Drop the smallest: the large ones are the expensive ones to make again.
          this.idle.sort((a, b) => b.byteLength - a.byteLength);
          this.idle.length = this.maxIdle;
        }
      },
    };
  }
}
