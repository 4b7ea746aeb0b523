import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@cola/gl';
import { initGptModel, type GptModel } from '@cola/model';
import type { AuxStateStore } from '@cola/store';
import { useRedis } from '@cola/testing';
import type { JobStore } from '../jobs/job-store';
import { initJob, TEST_BASE_MODEL, TINY_D, tinyJob, type TinyJob } from '../trainer/test-fixtures';
import { classifyTexts } from './inference';
import { ServedDeltasUpdater } from './served-deltas-updater';
import { ServedModels } from './served-models';
import { ServedStore } from './served-store';
import { trainerRig, type TrainerRig } from './test-rig';

// One top-level suite: node 20 runs file-level hooks once per top-level test, not once per file.
describe('the served model cache', () => {
  const redis = useRedis();
  let base: GptModel;
  let models: ServedModels;
  let rig: TrainerRig;
  let updater: ServedDeltasUpdater;
  let aux: AuxStateStore;
  let jobs: JobStore;

  before(async () => {
    await initBackend();
    const conn = redis.client();
    rig = trainerRig(conn);
    ({ aux, jobs } = rig);
    const served = new ServedStore(conn);
    base = initGptModel({ vocabSize: 258, nPositions: 16, nEmbd: TINY_D, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 }, { seed: 5 });
    updater = new ServedDeltasUpdater({ aux, served, jobs });
    models = new ServedModels({ base, served, aux, jobs }, { baseModelName: TEST_BASE_MODEL, maxModels: 2 });
  });

  after(() => {
    models.clear();
    rig.processor.close();
    base.dispose();
  });

  beforeEach(() => redis.flush());

  /** Trains and serves fit tasks [from, from + n). */
  async function trainAndServe(job: TinyJob, from: number, n: number): Promise<void> {
    for (const e of await rig.train(job, from, n)) await updater.apply(e);
  }

  const nameOf = (job: TinyJob): string => `ft:${TEST_BASE_MODEL}:${job.tenantId}:${job.jobId}`;

  describe('when the served version does not change', () => {
    it('should reuse the loaded model', async () => {
      const job = tinyJob('job-a');
      await initJob(job, aux, jobs);
      await trainAndServe(job, 0, 1);
      const first = await models.acquire(nameOf(job));
      first.release();
      const second = await models.acquire(nameOf(job));
      assert.equal(second.loaded, first.loaded);
      assert.equal(second.loaded.version, 1);
      second.release();
    });
  });

  describe('when a new version is served while a request still holds the old one', () => {
    it('should load the new one and free the old one only when it is released', async () => {
      const job = tinyJob('job-b');
      await initJob(job, aux, jobs);
      await trainAndServe(job, 0, 1);
      const held = await models.acquire(nameOf(job));
      await trainAndServe(job, 1, 1);
      const fresh = await models.acquire(nameOf(job));
      assert.deepEqual([held.loaded.version, fresh.loaded.version], [1, 2]);
      // The old model still answers: its deltas were not freed under it.
      const before = classifyTexts(held.loaded, ['still here']);
      assert.equal(before.length, 1);
      const tensors = tf.memory().numTensors;
      held.release();
      assert.ok(tf.memory().numTensors < tensors, 'releasing the retired model frees its tensors');
      fresh.release();
    });
  });

  describe("when the gpu-host resolved the job's windows", () => {
    it('should classify with the resolved max_length and max_windows, rebuilding a model loaded before', async () => {
      const job = tinyJob('job-w');
      await initJob(job, aux, jobs);
      const early = await models.acquire(nameOf(job));
      // The spec left them at auto: until the host opens the job, one window of the spec's default (capped by the context).
      assert.deepEqual([early.loaded.maxLength, early.loaded.maxWindows], [16, 1]);
      early.release();
      await jobs.setResolved(job.jobId, { lr: 0.01, epochs: 2, batchSize: 8, maxLength: 8, maxWindows: 3, droppedShare: 0 });
      const lease = await models.acquire(nameOf(job));
      assert.deepEqual([lease.loaded.maxLength, lease.loaded.maxWindows], [8, 3]);
      const long = 'twenty-four bytes long..';
      const [pooled] = classifyTexts(lease.loaded, [long]);
      const [first] = classifyTexts({ ...lease.loaded, maxWindows: 1 }, [long]);
      assert.notDeepEqual(pooled!.scores, first!.scores, 'three windows of 8 bytes are read, not the first 8');
      lease.release();
    });
  });

  describe('when more models are loaded than maxModels', () => {
    it('should free the least recently used one', async () => {
      const jobsList = [tinyJob('job-1'), tinyJob('job-2', { seed: 8 }), tinyJob('job-3', { seed: 9 })];
      for (const j of jobsList) {
        await initJob(j, aux, jobs);
        (await models.acquire(nameOf(j))).release();
      }
      assert.equal(models.size, 2);
    });
  });
});
