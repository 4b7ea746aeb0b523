/** Options of {@link watchLoopBlocks}. */
export interface LoopBlockWatchOptions {
  /** A block at least this long (ms) is reported. */
  thresholdMs: number;
  /** Called with the block's length (ms) once the loop runs again. */
  onBlock: (blockedMs: number) => void;
  /** How often the watch ticks (ms); a block is measured to about this precision. Default 250. */
  tickMs?: number;
}

/** A running watch; `stop()` ends it. */
export interface LoopBlockWatch {
  stop(): void;
}

/**
 * Reports when this process's event loop was blocked for `thresholdMs` or more: a timer that fires
 * late by that much was held up by synchronous work. Everything that keeps a process in touch with
 * the world (BullMQ lock renewal, heartbeats, health answers) runs on that loop, so a long block
 * is worth a log line naming its length. The timer is unref'd and never keeps the process alive.
 */
export function watchLoopBlocks(opts: LoopBlockWatchOptions): LoopBlockWatch {
  const tick = opts.tickMs ?? 250;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const blocked = now - last - tick;
    last = now;
    if (blocked >= opts.thresholdMs) opts.onBlock(blocked);
  }, tick);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
