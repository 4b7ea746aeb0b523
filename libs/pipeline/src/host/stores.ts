/**
 * The parts of @cola/store the gpu-host uses, as structural types: the host depends on what it
 * calls, and tests or a future object-storage backend (the claim-check seam of docs/design.md
 * section 2) can provide them without the Redis classes.
 */

/** Claim-check payload bytes with a TTL and a checksum (`TensorStore`). */
export interface HostPayloadStore {
  /** Stores bytes under `key`; returns the reference a fit task carries. */
  put(key: string, bytes: Uint8Array, ttlSeconds: number): Promise<{ key: string; size: number; sha256: string }>;
  /** Lends a reusable frame for `size` payload bytes, to encode into without a fresh buffer or a second copy. */
  lease(size: number): { readonly data: Uint8Array; release(): void };
  /** Stores a filled leased frame under `key` (and gives the buffer back); returns the reference. */
  putLeased(
    key: string,
    lease: ReturnType<HostPayloadStore['lease']>,
    ttlSeconds: number,
  ): Promise<{ key: string; size: number; sha256: string }>;
  /** Removes the bytes (no error when absent). */
  delete(key: string): Promise<unknown>;
}

/** Versioned aux state blobs of jobs (`AuxStateStore`). */
export interface HostAuxStore {
  /** Writes version 0 when the job has no state yet; never overwrites. */
  init(jobId: string, bytes: Uint8Array): Promise<unknown>;
  /** The latest committed version, or null when the job has none. */
  head(jobId: string): Promise<number | null>;
  /** The blob of one version; throws when it is gone. */
  load(jobId: string, version: number): Promise<Uint8Array>;
  /** Deletes every version but the newest `keep` (a finished job keeps its head). */
  prune?(jobId: string, keep: number): Promise<unknown>;
}
