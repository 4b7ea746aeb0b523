import type { JobAuxState } from '../state/job-aux-state';

/** Options of {@link AuxStateCache}. */
export interface AuxStateCacheOptions {
  /**
   * Jobs whose decoded state is kept. Each holds a job's adapters and optimizer slots as live
   * tensors, so this bounds the trainer's memory; the least recently used job is dropped.
   */
  maxJobs: number;
}

/** Defaults of {@link AuxStateCacheOptions}. */
export const DEFAULT_AUX_STATE_CACHE_OPTIONS: Readonly<AuxStateCacheOptions> = { maxJobs: 16 };

/**
 * The trainer's local cache of decoded aux states, keyed by (job, version). Consecutive fit tasks
 * of one job usually land on the same trainer, and each one starts from the version the previous
 * one produced: keeping that state live skips a Redis GET and a full decode of weights and
 * optimizer slots per task.
 *
 * The cache owns the states it holds. `take` hands a state out and forgets it (the fit step
 * mutates it in place, so a state that failed to commit must never be served again); `put` gives
 * one back under its new version.
 */
export class AuxStateCache {
  private readonly opts: AuxStateCacheOptions;
  /** jobId → state; Map order is recency order (oldest first). */
  private readonly states = new Map<string, JobAuxState>();

  constructor(opts: Partial<AuxStateCacheOptions> = {}) {
    this.opts = { ...DEFAULT_AUX_STATE_CACHE_OPTIONS, ...opts };
    if (!Number.isInteger(this.opts.maxJobs) || this.opts.maxJobs < 0) {
      throw new RangeError(`AuxStateCache: maxJobs must be an integer >= 0 (0 disables the cache), got ${this.opts.maxJobs}`);
    }
  }

  /** Number of cached jobs. */
  get size(): number {
    return this.states.size;
  }

  /**
   * Removes and returns the job's state when it is at `version`; a state at any other version is
   * stale (another trainer moved the job on) and is disposed.
   */
  take(jobId: string, version: number): JobAuxState | undefined {
    const s = this.states.get(jobId);
    if (!s) return undefined;
    this.states.delete(jobId);
    if (s.version === version) return s;
    s.adapters.dispose();
    return undefined;
  }

  /** The job's cached state at whatever version, left in the cache (read it, do not mutate it). */
  peek(jobId: string): JobAuxState | undefined {
    return this.states.get(jobId);
  }

  /** Caches `state` (now owned by the cache) as the job's latest, evicting the oldest job if full. */
  put(state: JobAuxState): void {
    this.drop(state.jobId);
    if (this.opts.maxJobs === 0) {
      state.adapters.dispose();
      return;
    }
    this.states.set(state.jobId, state);
    while (this.states.size > this.opts.maxJobs) {
      const oldest = this.states.keys().next().value as string;
      this.drop(oldest);
    }
  }

  /** Disposes the job's cached state, if any. */
  drop(jobId: string): void {
    const s = this.states.get(jobId);
    if (!s) return;
    this.states.delete(jobId);
    s.adapters.dispose();
  }

  /** Disposes every cached state; returns how many tensors were freed. */
  clear(): number {
    let freed = 0;
    for (const s of this.states.values()) freed += s.adapters.dispose();
    this.states.clear();
    return freed;
  }
}
