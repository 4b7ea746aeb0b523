import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { BULLMQ_PREFIX, QUEUES, queueEventsKey, queueOptions } from '@cola/config';
import { useRedis } from '@cola/testing';
import { QueueRetention } from './queue-retention';

describe('when finished work sits in a quiet queue', () => {
  const redis = useRedis();
  let bull: Redis;
  let queue: Queue;

  before(() => {
    bull = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue(QUEUES.auxPublishedMerger, { connection: bull, ...queueOptions(QUEUES.auxPublishedMerger) });
  });

  after(async () => {
    await queue.close();
    await bull.quit();
  });

  it('should remove completed records and queue events older than the retention, and keep failed ones', async () => {
    const worker = new Worker(
      QUEUES.auxPublishedMerger,
      async (job) => {
        if (job.data.fail) throw new Error('kept for a post-mortem');
      },
      { connection: bull, prefix: BULLMQ_PREFIX },
    );
    const done = new Promise<void>((resolve) => {
      let n = 0;
      const count = (): void => void (++n === 4 && resolve());
      worker.on('completed', count);
      worker.on('failed', count);
    });
    for (let i = 0; i < 3; i++) await queue.add('a', { i }, { jobId: `t.${i}` });
    await queue.add('a', { fail: true }, { jobId: 't.9', attempts: 1 });
    await done;
    await worker.close();
    const client = redis.client();
    assert.equal(await queue.getCompletedCount(), 3);
    assert.ok((await client.xlen(queueEventsKey(QUEUES.auxPublishedMerger))) > 0);

    const log: string[] = [];
    const retention = new QueueRetention(client, [queue], { retentionSeconds: 1, log: (_l, m) => void log.push(m) });
    assert.deepEqual(await retention.sweep(), { records: 0, events: 0 }, 'nothing is older than the retention yet');
    await new Promise((r) => setTimeout(r, 1100));
    const swept = await retention.sweep();
    assert.equal(swept.records, 3);
    assert.ok(swept.events > 0);
    assert.equal(await queue.getCompletedCount(), 0);
    assert.equal(await queue.getFailedCount(), 1, 'failed records stay for post-mortems');
    assert.equal(await client.exists(`${BULLMQ_PREFIX}:${QUEUES.auxPublishedMerger}:t.0`), 0, 'the record itself is gone');
    assert.deepEqual(log, []);
    assert.throws(() => new QueueRetention(client, [queue], { retentionSeconds: 0, log: () => undefined }), RangeError);
  });
});
