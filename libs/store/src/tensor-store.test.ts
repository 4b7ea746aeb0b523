import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { TTLS, keys } from '@cola/config';
import { useRedis } from '@cola/testing';
import { FRAME_HEADER_BYTES, PayloadCorruptError, PayloadMissingError, TensorStore } from './index';

const redis = useRedis();
let client: Redis;
let raw: Redis;
let store: TensorStore;

before(async () => {
  await redis.whenReady(); // top-level hooks run concurrently on node 20
  client = redis.client();
  raw = redis.client();
  store = new TensorStore(client);
});

function ramp(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = i % 256;
  return bytes;
}

describe('when a 1 MB payload is stored', () => {
  it('should round-trip every byte value exactly, as raw binary with its checksum and TTL', async () => {
    const bytes = ramp(1024 * 1024);
    const key = keys.payload('job-rt', 0);
    const ref = await store.put(key, bytes, TTLS.payloadSeconds);

    assert.equal(ref.key, key);
    assert.equal(ref.size, bytes.byteLength);
    assert.equal(ref.sha256, createHash('sha256').update(bytes).digest('hex'));
    // Raw binary: exactly header + data bytes in Redis, not JSON (which would be ~4x larger).
    assert.equal(await raw.strlen(key), FRAME_HEADER_BYTES + bytes.byteLength);
    const ttl = await raw.ttl(key);
    assert.ok(ttl > TTLS.payloadSeconds - 10 && ttl <= TTLS.payloadSeconds, `ttl ${ttl}`);

    const back = await store.get(key, ref.sha256);
    assert.equal(back.byteLength, bytes.byteLength);
    assert.ok(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(bytes)));
  });

  it('should store only the viewed bytes of a Uint8Array that is a window into a larger buffer', async () => {
    const whole = ramp(1000);
    const view = whole.subarray(3, 803);
    const key = keys.payload('job-view', 1);
    const ref = await store.put(key, view, 60);
    assert.equal(ref.size, 800);
    const back = await store.get(key);
    assert.deepEqual(Array.from(back), Array.from(view));
  });

  it('should store an empty payload', async () => {
    const key = keys.payload('job-empty', 0);
    await store.put(key, new Uint8Array(0), 60);
    assert.equal((await store.get(key)).byteLength, 0);
  });
});

describe('when a payload is damaged in Redis', () => {
  it('should detect one flipped byte as a checksum mismatch', async () => {
    const key = keys.payload('job-flip', 0);
    const ref = await store.put(key, ramp(4096), 60);
    const offset = FRAME_HEADER_BYTES + 1234;
    const original = (await raw.getrangeBuffer(key, offset, offset))[0]!;
    await raw.setrange(key, offset, Buffer.from([original ^ 0xff]));
    for (const expected of [undefined, ref.sha256]) {
      await assert.rejects(store.get(key, expected), (err: unknown) => {
        assert.ok(err instanceof PayloadCorruptError);
        assert.equal(err.key, key);
        assert.match(
          err.message,
          new RegExp(`payload ${key} is corrupt: checksum mismatch: sha256 of the data is [0-9a-f]{64}, the header says ${ref.sha256}`),
        );
        return true;
      });
    }
  });

  it('should report a truncated value as truncated', async () => {
    const key = keys.payload('job-cut', 0);
    await store.put(key, ramp(4096), 60);
    const stored = await raw.getBuffer(key);
    assert.ok(stored);
    await raw.set(key, stored.subarray(0, stored.byteLength - 100));
    await assert.rejects(store.get(key), /is corrupt: truncated: holds 3996 data bytes, its header says 4096/);
    await raw.set(key, stored.subarray(0, 20));
    await assert.rejects(store.get(key), /is corrupt: truncated: 20 bytes, shorter than the 48-byte header/);
  });

  it('should refuse a value that is not one of our frames', async () => {
    const key = keys.payload('job-json', 0);
    await raw.set(key, JSON.stringify({ type: 'Buffer', data: Array.from(ramp(64)) }));
    await assert.rejects(store.get(key), /not a framed payload \(bad magic bytes\)/);
  });

  it('should notice that the key now holds another payload than the reference names', async () => {
    const key = keys.payload('job-over', 0);
    const first = await store.put(key, ramp(100), 60);
    const second = await store.put(key, ramp(101), 60);
    assert.notEqual(first.sha256, second.sha256);
    await assert.rejects(store.get(key, first.sha256), /holds another payload .* than the reference names .*; it was overwritten/);
    assert.equal((await store.get(key, second.sha256)).byteLength, 101);
  });
});

describe('when a payload is gone', () => {
  it('should throw PayloadMissingError for a key that was never written', async () => {
    const key = keys.payload('job-none', 9);
    await assert.rejects(store.get(key), (err: unknown) => {
      assert.ok(err instanceof PayloadMissingError);
      assert.equal(err.key, key);
      assert.match(err.message, /is missing: it expired \(TTL\), was deleted, or was never written/);
      return true;
    });
  });

  it('should throw PayloadMissingError after its TTL ran out', async () => {
    const key = keys.payload('job-ttl', 0);
    await store.put(key, ramp(10), 60);
    // Let Redis expire it now instead of sleeping through a real TTL.
    await raw.pexpire(key, 1);
    while ((await raw.exists(key)) === 1) await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(store.get(key), PayloadMissingError);
  });

  it('should delete a payload once, and report whether it existed', async () => {
    const key = keys.payload('job-del', 0);
    await store.put(key, ramp(10), 60);
    assert.equal(await store.delete(key), true);
    assert.equal(await store.delete(key), false);
    await assert.rejects(store.get(key), PayloadMissingError);
  });
});

describe('when put is called wrongly', () => {
  it('should reject a missing or fractional TTL and non-byte input with how to fix it', async () => {
    const key = keys.payload('job-bad', 0);
    await assert.rejects(store.put(key, ramp(1), 0), /ttlSeconds must be a positive whole number of seconds \(got 0\)/);
    await assert.rejects(store.put(key, ramp(1), 1.5), /got 1\.5/);
    await assert.rejects(store.put(key, [1, 2] as unknown as Uint8Array, 60), /bytes must be a Uint8Array/);
    await assert.rejects(store.put('', ramp(1), 60), /key must be a non-empty string/);
    assert.equal(await raw.exists(key), 0);
  });
});

describe('when a payload is encoded into a leased frame', () => {
  it('should store the same frame as put, reuse the buffer for the next payload, and verify it once on read', async () => {
    const bytes = ramp(300_000);
    const lease = store.lease(bytes.byteLength);
    lease.data.set(bytes);
    const key = keys.payload('job-lease', 0);
    const ref = await store.putLeased(key, lease, TTLS.payloadSeconds);
    assert.equal(ref.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(ref.size, bytes.byteLength);
    const back = await store.read(key, ref.sha256);
    assert.equal(back.sha256, ref.sha256);
    assert.deepEqual(new Uint8Array(back.data), bytes);

    const next = store.lease(bytes.byteLength - 1000);
    assert.equal(next.frame.buffer, lease.frame.buffer, 'a released frame is lent again');
    next.data.fill(7);
    const ref2 = await store.putLeased(keys.payload('job-lease', 1), next, TTLS.payloadSeconds);
    assert.deepEqual(new Uint8Array(await store.get(ref2.key, ref2.sha256)), new Uint8Array(bytes.byteLength - 1000).fill(7));
    // The first payload is untouched by the reuse: Redis holds its own copy.
    assert.deepEqual(new Uint8Array(await store.get(key, ref.sha256)), bytes);
  });

  it('should refuse a leased frame that was altered in Redis, naming the key', async () => {
    const lease = store.lease(1000);
    lease.data.fill(1);
    const key = keys.payload('job-lease', 2);
    const ref = await store.putLeased(key, lease, TTLS.payloadSeconds);
    await raw.setrange(key, FRAME_HEADER_BYTES + 10, 'x');
    await assert.rejects(
      store.read(key, ref.sha256),
      (e: unknown) => e instanceof PayloadCorruptError && /checksum mismatch/.test(e.message) && e.message.includes(key),
    );
  });
});
