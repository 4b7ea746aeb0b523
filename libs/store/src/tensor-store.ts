import type { Redis } from 'ioredis';
import { decodeFrame, encodeFrame } from './checksum-frame';
import { FramePool, type FrameLease } from './frame-pool';
import { PayloadMissingError } from './errors/payload-missing-error';

/** What {@link TensorStore.put} stored: the claim-check reference a queue message carries. */
export interface StoredPayload {
  /** Redis key of the payload (built with `keys.payload` from @cola/config). */
  key: string;
  /** Byte length of the payload itself (the 48-byte frame header excluded). */
  size: number;
  /** Hex SHA-256 of the payload; pass it back to {@link TensorStore.get} to pin the exact bytes. */
  sha256: string;
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError('TensorStore: key must be a non-empty string; build it with keys.payload() from @cola/config');
  }
  return key;
}

function checkTtl(ttlSeconds: number): void {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError(
      `TensorStore.put: ttlSeconds must be a positive whole number of seconds (got ${ttlSeconds}); ` +
        'use TTLS.payloadSeconds from @cola/config',
    );
  }
}

/**
 * Claim-check store for tensor payloads: the bytes live in their own binary Redis key with a
 * TTL and a checksum, and the BullMQ job carries only the {@link StoredPayload} reference.
 * BullMQ would store a Buffer in job data as a JSON array of numbers, about 5x the size. The
 * same interface can later be backed by object storage.
 *
 * Values are raw binary frames (see checksum-frame.ts), never JSON or base64.
 */
export class TensorStore {
  private readonly pool = new FramePool();

  /** @param redis a connected ioredis client; the caller owns its lifecycle. */
  constructor(private readonly redis: Redis) {}

  /**
   * Lends a reusable frame for a payload of `size` bytes: encode straight into `lease.data`, then
   * {@link putLeased}. Saves the fresh buffer and the copy that {@link put} makes.
   */
  lease(size: number): FrameLease {
    return this.pool.lease(size);
  }

  /** Seals and stores a leased frame under `key` for `ttlSeconds`, then gives the buffer back to the pool. */
  async putLeased(key: string, lease: FrameLease, ttlSeconds: number): Promise<StoredPayload> {
    try {
      checkKey(key);
      checkTtl(ttlSeconds);
      const sha256 = lease.seal();
      await this.redis.set(key, lease.frame, 'EX', ttlSeconds);
      return { key, size: lease.data.byteLength, sha256 };
    } finally {
      lease.release();
    }
  }

  /** Stores `bytes` under `key` for `ttlSeconds`, replacing any previous value. */
  async put(key: string, bytes: Uint8Array, ttlSeconds: number): Promise<StoredPayload> {
    checkKey(key);
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError('TensorStore.put: bytes must be a Uint8Array (encode tensors with @cola/proto first)');
    }
    checkTtl(ttlSeconds);
    const { frame, sha256 } = encodeFrame(bytes);
    await this.redis.set(key, frame, 'EX', ttlSeconds);
    return { key, size: bytes.byteLength, sha256 };
  }

  /**
   * Returns the bytes stored under `key` after verifying length and checksum, and, when
   * `expectedSha256` is given, that they are the payload the reference names.
   *
   * The result is a view into the reply buffer: its byteOffset is not 0, so copy it before
   * viewing it as a Float32Array.
   *
   * @throws PayloadMissingError when the key expired or never existed.
   * @throws PayloadCorruptError when the value is truncated, altered or another payload.
   */
  async get(key: string, expectedSha256?: string): Promise<Uint8Array> {
    return (await this.read(key, expectedSha256)).data;
  }

  /**
   * Like {@link get}, and also returns the SHA-256 it verified the data against, so a decoder
   * that checks a reference (`decodeAdaptation(bytes, task, sha256)`) need not hash them again.
   */
  async read(key: string, expectedSha256?: string): Promise<{ data: Uint8Array; sha256: string }> {
    checkKey(key);
    const frame = await this.redis.getBuffer(key);
    if (frame === null) throw new PayloadMissingError(key);
    return decodeFrame(key, frame, expectedSha256);
  }

  /** Deletes the payload; returns whether it existed. Consumers call it once a fit committed. */
  async delete(key: string): Promise<boolean> {
    checkKey(key);
    // UNLINK frees large values in a background thread instead of blocking Redis.
    return (await this.redis.unlink(key)) > 0;
  }
}
