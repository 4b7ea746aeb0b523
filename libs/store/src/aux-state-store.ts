import type { Redis } from 'ioredis';
import { AUX_RETENTION, TTLS, assertId, assertIndex, keys } from '@cola/config';
import { decodeFrame, encodeFrame } from './checksum-frame';
import { AuxStateMissingError } from './errors/aux-state-missing-error';
import { LuaScript } from './lua-script';

/** Options for {@link AuxStateStore}. */
export interface AuxStateStoreOptions {
  /**
   * Newest versions kept without a TTL, the head included (>= 1). Default
   * `AUX_RETENTION.keepVersions` from @cola/config.
   */
  keepVersions?: number;
  /** TTL in seconds of versions older than that. Default `TTLS.auxSupersededSeconds`. */
  supersededTtlSeconds?: number;
}

/** Outcome of {@link AuxStateStore.commit}. */
export type CommitResult =
  /** Written as version expectedVersion + 1, which is now the head. */
  | 'committed'
  /** This seq was applied before (a redelivered task): nothing written. */
  | 'duplicate'
  /** The head is not expectedVersion any more: nothing written; reload the head and refit. */
  | 'conflict';

/** Metadata of a commit. */
export interface AuxCommitMeta {
  /** Sequence number of the fit task (the adaptation batch) that produced the new state. */
  seq: number;
}

// Both scripts only touch keys of one job, which share the `{jobId}` hash tag (see @cola/config):
// legal on Redis Cluster.

/** KEYS: head, version 0. ARGV: frame. Writes version 0 unless the job has a head. */
const INIT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], '0')
return 1
`);

/**
 * KEYS: head, applied (hash seq -> version), new version, [version that falls out of the kept
 * window]. ARGV: expected head, seq, frame, new version, superseded TTL.
 *
 * The duplicate check comes first: a redelivered task must be recognised whatever the head is
 * now, or it could be re-applied on top of a later version.
 */
const COMMIT = new LuaScript(`
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 'duplicate' end
local head = redis.call('GET', KEYS[1])
if head == false then return 'uninitialized' end
if head ~= ARGV[1] then return 'conflict' end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('SET', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
if KEYS[4] then redis.call('EXPIRE', KEYS[4], ARGV[5]) end
return 'committed'
`);

function parseVersion(raw: string | null, key: string): number | null {
  if (raw === null) return null;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${key} holds "${raw}", not a version number`);
  return n;
}

/**
 * Versioned aux state (weights + optimizer slots, encoded elsewhere) of each job, with an atomic
 * compare-and-set that lets any number of aux-trainers race safely:
 * - two trainers can never both write version v+1;
 * - a redelivered fit task (same seq) is never applied twice.
 *
 * Each version is its own binary key with a checksum frame; `head` names the latest one. The
 * newest `keepVersions` versions stay; older ones expire, so a slow reader of version v still
 * finds it for a while after v+1 is committed.
 */
export class AuxStateStore {
  private readonly keepVersions: number;
  private readonly supersededTtlSeconds: number;

  /** @param redis a connected ioredis client; the caller owns its lifecycle. */
  constructor(
    private readonly redis: Redis,
    opts: AuxStateStoreOptions = {},
  ) {
    this.keepVersions = opts.keepVersions ?? AUX_RETENTION.keepVersions;
    this.supersededTtlSeconds = opts.supersededTtlSeconds ?? TTLS.auxSupersededSeconds;
    if (!Number.isSafeInteger(this.keepVersions) || this.keepVersions < 1) {
      throw new RangeError(`AuxStateStore: keepVersions must be an integer >= 1 (got ${this.keepVersions}); the head is always kept`);
    }
    if (!Number.isSafeInteger(this.supersededTtlSeconds) || this.supersededTtlSeconds < 1) {
      throw new RangeError(
        `AuxStateStore: supersededTtlSeconds must be a positive whole number of seconds (got ${this.supersededTtlSeconds})`,
      );
    }
  }

  /** Writes `bytes` as version 0 unless the job already has aux state. Returns true if it wrote. */
  async init(jobId: string, bytes: Uint8Array): Promise<boolean> {
    assertId('jobId', jobId);
    const { frame } = encodeFrame(bytes);
    const wrote = await INIT.run(this.redis, [keys.auxHead(jobId), keys.auxVersion(jobId, 0)], [frame]);
    return wrote === 1;
  }

  /** The latest committed version, or null when the job has no aux state. */
  async head(jobId: string): Promise<number | null> {
    const key = keys.auxHead(jobId);
    return parseVersion(await this.redis.get(key), key);
  }

  /**
   * The state at `version`, checksum verified.
   * @throws AuxStateMissingError when that version expired or never existed.
   * @throws PayloadCorruptError when it is damaged.
   */
  async load(jobId: string, version: number): Promise<Uint8Array> {
    const key = keys.auxVersion(jobId, version);
    const frame = await this.redis.getBuffer(key);
    if (frame === null) throw new AuxStateMissingError(jobId, version, await this.head(jobId));
    return decodeFrame(key, frame).data;
  }

  /**
   * The head version and its state, or null when the job has no aux state. Two reads, but safe:
   * the version just read as head keeps no TTL for at least one more commit, and then expires
   * only after `supersededTtlSeconds`.
   */
  async loadHead(jobId: string): Promise<{ version: number; bytes: Uint8Array } | null> {
    const version = await this.head(jobId);
    if (version === null) return null;
    return { version, bytes: await this.load(jobId, version) };
  }

  /**
   * Atomically writes `newBytes` as version `expectedVersion + 1` if the head is still
   * `expectedVersion` and `meta.seq` was never applied; see {@link CommitResult}.
   * @throws AuxStateMissingError when the job was never initialised.
   */
  async commit(jobId: string, expectedVersion: number, newBytes: Uint8Array, meta: AuxCommitMeta): Promise<CommitResult> {
    assertIndex('expectedVersion', expectedVersion);
    const seq = assertIndex('seq', meta.seq);
    const next = expectedVersion + 1;
    const falling = next - this.keepVersions;
    const scriptKeys = [keys.auxHead(jobId), keys.auxApplied(jobId), keys.auxVersion(jobId, next)];
    if (falling >= 0) scriptKeys.push(keys.auxVersion(jobId, falling));
    const { frame } = encodeFrame(newBytes);
    const result = await COMMIT.run(this.redis, scriptKeys, [
      String(expectedVersion),
      String(seq),
      frame,
      String(next),
      this.supersededTtlSeconds,
    ]);
    switch (result) {
      case 'committed':
      case 'duplicate':
      case 'conflict':
        return result;
      case 'uninitialized':
        throw new AuxStateMissingError(jobId, null, null);
      default:
        throw new Error(`AuxStateStore.commit: unexpected script reply ${JSON.stringify(result)}`);
    }
  }

  /** The version that applied fit task `seq`, or null if it was never applied. */
  async appliedVersion(jobId: string, seq: number): Promise<number | null> {
    const key = keys.auxApplied(jobId);
    return parseVersion(await this.redis.hget(key, String(assertIndex('seq', seq))), key);
  }

  /**
   * Deletes every version older than the newest `keep` (the head always stays), at once rather
   * than after their TTL: what a finished job no longer needs. Returns the keys removed.
   */
  async prune(jobId: string, keep = 1): Promise<number> {
    if (!Number.isSafeInteger(keep) || keep < 1) throw new RangeError(`AuxStateStore.prune: keep must be an integer >= 1 (got ${keep})`);
    const head = await this.head(jobId);
    if (head === null) return 0;
    const old: string[] = [];
    for (let v = 0; v <= head - keep; v++) old.push(keys.auxVersion(jobId, v));
    let removed = 0;
    for (let i = 0; i < old.length; i += 500) removed += await this.redis.unlink(...old.slice(i, i + 500));
    return removed;
  }

  /** Deletes every aux key of a job (all versions, head, applied index). Returns keys removed. */
  async delete(jobId: string): Promise<number> {
    const head = await this.head(jobId);
    const all = [keys.auxHead(jobId), keys.auxApplied(jobId)];
    for (let v = 0; head !== null && v <= head; v++) all.push(keys.auxVersion(jobId, v));
    let removed = 0;
    // Batches keep each command small for jobs with many versions.
    for (let i = 0; i < all.length; i += 500) removed += await this.redis.unlink(...all.slice(i, i + 500));
    return removed;
  }
}
