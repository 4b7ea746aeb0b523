/**
 * Serialises async work per key inside one process. A worker with concurrency > 1 may hold two
 * deliveries of the same job at once (a redelivery, or seq n+1 while seq n fits); running them
 * one after the other keeps the local state cache coherent. Across processes, the store's
 * compare-and-set is what keeps the job consistent.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier `run` of the same key has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      // Forget the key once nobody queued behind us, so the map does not grow with every job.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
