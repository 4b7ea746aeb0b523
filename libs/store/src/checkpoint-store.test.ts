import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useRedis } from '@cola/testing';
import { CheckpointStore } from './index';

describe('when checkpoints live in a real Redis', () => {
  const redis = useRedis();
  let store: CheckpointStore;
  before(() => {
    store = new CheckpointStore(redis.client());
  });

  it('should save, list and load blobs by step, idempotently', async () => {
    const blob = new Uint8Array(64).map((_, i) => i * 3);
    await store.save('job-ckpt', 10, blob);
    await store.save('job-ckpt', 5, blob.subarray(8));
    await store.save('job-ckpt', 10, blob);
    assert.deepEqual(await store.steps('job-ckpt'), [5, 10]);
    assert.deepEqual(Array.from((await store.load('job-ckpt', 10))!), Array.from(blob));
    assert.deepEqual(Array.from((await store.load('job-ckpt', 5))!), Array.from(blob.subarray(8)));
    assert.equal(await store.load('job-ckpt', 7), null);
    assert.deepEqual(await store.steps('job-none'), []);
  });

  it('should page newest first after a cursor, and refuse a cursor that is not one of the job', async () => {
    for (const step of [1, 2, 3, 4, 5]) await store.save('job-page', step, new Uint8Array([step]));
    assert.deepEqual(await store.page('job-page', undefined, 2), { steps: [5, 4], hasMore: true });
    assert.deepEqual(await store.page('job-page', 4, 2), { steps: [3, 2], hasMore: true });
    assert.deepEqual(await store.page('job-page', 2, 2), { steps: [1], hasMore: false });
    assert.equal(await store.page('job-page', 9, 2), null);
    await store.save('job-other', 9, new Uint8Array([9]));
    assert.equal(await store.page('job-page', 9, 2), null, "another job's step is no cursor here");
    await assert.rejects(store.page('job-page', undefined, 0), RangeError);
  });

  it("should refuse an id that could alias another job's keys", async () => {
    await assert.rejects(store.save('job:x', 1, new Uint8Array([1])));
  });
});
