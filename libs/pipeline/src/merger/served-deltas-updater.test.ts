import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { keys } from '@cola/config';
import { disposeDeltas, initBackend, tf } from '@cola/gl';
import type { AuxStateStore } from '@cola/store';
import { useRedis } from '@cola/testing';
import type { JobStore } from '../jobs/job-store';
import { decodeJobAuxState } from '../state/job-aux-state';
import type { AuxPublishedData } from '../queues/aux-published-data';
import { initJob, tinyJob, type TinyJob } from '../trainer/test-fixtures';
import { decodeServedRecord } from './served-deltas';
import { ServedDeltasUpdater } from './served-deltas-updater';
import { ServedStore } from './served-store';
import { trainerRig, type TrainerRig } from './test-rig';

// One top-level suite: node 20 runs file-level hooks once per top-level test, not once per file.
describe('the served deltas updater', () => {
  const redis = useRedis();
  let conn: Redis;
  let rig: TrainerRig;
  let aux: AuxStateStore;
  let jobs: JobStore;
  let served: ServedStore;
  let updater: ServedDeltasUpdater;

  before(async () => {
    await initBackend();
    conn = redis.client();
    rig = trainerRig(conn);
    ({ aux, jobs } = rig);
    served = new ServedStore(conn);
    updater = new ServedDeltasUpdater({ aux, served, jobs });
  });

  after(() => void rig.processor.close());

  beforeEach(async () => {
    rig.announced.length = 0;
    await redis.flush();
  });

  /** Trains `n` fit tasks of the job with the real processor; returns what it announced (the queue itself is tested with the trainer). */
  const train = (job: TinyJob, n: number, from = 0): Promise<AuxPublishedData[]> => rig.train(job, from, n);

  describe('when a mergeable version is published', () => {
    it('should store deltas equal to deltaWeights of that version, bit for bit, with its version', async () => {
      const job = tinyJob('job-m');
      await initJob(job, aux, jobs);
      const events = await train(job, 2);
      assert.deepEqual(
        events.map((e) => e.version),
        [1, 2],
      );
      const before = tf.memory().numTensors;
      for (const e of events) assert.equal((await updater.apply(e)).status, 'served');
      assert.equal(tf.memory().numTensors, before, 'the updater leaks no tensor');

      const record = decodeServedRecord((await served.get(job.jobId))!);
      assert.deepEqual(record.meta, {
        ...record.meta,
        jobId: job.jobId,
        tenantId: job.tenantId,
        version: 2,
        mergeable: true,
        mergeGroup: '',
      });
      const state = decodeJobAuxState(await aux.load(job.jobId, 2), { paramsOnly: true });
      const expected = state.adapters.deltas();
      assert.deepEqual([...record.deltas.keys()].sort(), [...expected.keys()].sort());
      for (const [tap, d] of expected) {
        assert.deepEqual(record.deltas.get(tap)!.dW.dataSync(), d.dW.dataSync(), `${tap}.dW`);
        assert.deepEqual(record.deltas.get(tap)!.db?.dataSync(), d.db?.dataSync(), `${tap}.db`);
      }
      assert.ok(expected.get('score')!.db, 'the linear head contributes db');
      disposeDeltas(expected);
      disposeDeltas(record.deltas);
      state.adapters.dispose();
      assert.deepEqual(await served.meta(job.jobId), record.meta);
    });
  });

  describe('when events arrive twice or out of order', () => {
    it('should never replace a record by an older or equal version', async () => {
      const job = tinyJob('job-o');
      await initJob(job, aux, jobs);
      const [v1, v2, v3] = await train(job, 3);
      assert.equal((await updater.apply(v2!)).status, 'served');
      assert.equal((await updater.apply(v1!)).status, 'stale');
      assert.equal((await updater.apply(v2!)).status, 'stale');
      assert.equal((await served.meta(job.jobId))?.version, 2);
      // Two replicas racing: the older write loses inside Redis, not only in the pre-check.
      const older = (await served.get(job.jobId))!;
      assert.equal(await served.putIfNewer(job.jobId, 1, older), false);
      // A superseded version that expired is skipped: the newer event carries the news.
      await conn.del(keys.auxVersion(job.jobId, 3));
      await assert.rejects(updater.apply(v3!), /version 3 of job job-o is gone \(head is 3\)/);
    });

    it('should skip an expired version when a newer one exists', async () => {
      const job = tinyJob('job-x');
      await initJob(job, aux, jobs);
      const [v1] = await train(job, 2);
      await conn.del(keys.auxVersion(job.jobId, 1));
      assert.equal((await updater.apply(v1!)).status, 'stale');
      assert.equal(await served.meta(job.jobId), null);
    });
  });

  describe('when the aux is an mlp', () => {
    it('should remember the version without deltas (it is served by injection)', async () => {
      const job = tinyJob('job-mlp', { aux: 'mlp' });
      await initJob(job, aux, jobs);
      const [v1] = await train(job, 1);
      assert.equal(v1!.mergeable, false);
      const u = await updater.apply(v1!);
      assert.deepEqual([u.status, u.mergeable], ['served', false]);
      const record = decodeServedRecord((await served.get(job.jobId))!);
      assert.deepEqual([record.meta.version, record.meta.mergeable, record.deltas.size], [1, false, 0]);
    });
  });

  describe('when jobs share a merge group', () => {
    it("should add each member to its own tenant's group set", async () => {
      const a = tinyJob('job-ga', { mergeGroup: 'team' });
      const b = tinyJob('job-gb', { mergeGroup: 'team', tenantId: 'tenant-b', seed: 9 });
      const c = tinyJob('job-gc', { mergeGroup: 'team', seed: 11 });
      for (const j of [a, b, c]) await initJob(j, aux, jobs);
      for (const e of [...(await train(a, 1)), ...(await train(b, 1)), ...(await train(c, 1))])
        assert.equal((await updater.apply(e)).mergeGroup, 'team');
      // The same group name in two tenants is two groups: tenant-b's job never joins tenant-a's.
      assert.deepEqual(await served.members('tenant-a', 'team'), ['job-ga', 'job-gc']);
      assert.deepEqual(await served.members('tenant-b', 'team'), ['job-gb']);
      assert.deepEqual(await served.jobIds(), ['job-ga', 'job-gb', 'job-gc']);
    });
  });

  describe('when the job no longer exists', () => {
    it('should drop the event', async () => {
      const job = tinyJob('job-gone');
      await initJob(job, aux, jobs);
      const [v1] = await train(job, 1);
      await conn.del(keys.job(job.jobId));
      assert.equal((await updater.apply(v1!)).status, 'gone');
      assert.equal(await served.get(job.jobId), null);
    });
  });
});
