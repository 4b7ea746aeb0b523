import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobIds, QUEUES, queueOptions } from '@cola/config';
import { glFitStep, initBackend } from '@cola/gl';
import { AuxStateStore, TensorStore } from '@cola/store';
import { useRedis } from '@cola/testing';
import { JobStore } from '../jobs/job-store';
import { decodeJobAuxState } from '../state/job-aux-state';
import type { AdaptTaskData } from '../queues/adapt-task-data';
import { AuxTrainerService } from './aux-trainer-service';
import type { FitTaskOutcome } from './fit-task-processor';
import {
  createAdapters,
  disposeFitData,
  encodeFitTask,
  fitData,
  initJob,
  putFitTask,
  scheduleOfJob,
  snapshotOf,
  tinyJob,
  type TinyJob,
} from './test-fixtures';

// One top-level suite: node 20 runs file-level hooks once per top-level test, not once per file.
describe('the aux-trainer service', () => {
  const redis = useRedis();

  let conn: Redis;
  let payloads: TensorStore;
  let aux: AuxStateStore;
  let jobs: JobStore;
  let adapt: Queue<AdaptTaskData>;
  const services: AuxTrainerService[] = [];

  before(async () => {
    await initBackend();
    conn = redis.client();
    payloads = new TensorStore(conn);
    aux = new AuxStateStore(conn);
    jobs = new JobStore(conn);
    adapt = new Queue<AdaptTaskData>(QUEUES.adapt, { connection: conn, ...queueOptions(QUEUES.adapt) });
  });

  after(() => adapt.close());

  beforeEach(() => redis.flush());

  // Each test's trainers stop with it, so no worker of one test takes another test's tasks.
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
  });

  async function startTrainer(opts: { concurrency?: number } = {}): Promise<AuxTrainerService> {
    const s = new AuxTrainerService({ redisUrl: redis.url, retryDelayMs: 10, maxRetryDelayMs: 100, ...opts });
    services.push(s);
    await s.start();
    return s;
  }

  async function enqueue(job: TinyJob, seq: number, corrupt = false): Promise<AdaptTaskData> {
    const data = fitData(job, seq);
    const bytes = encodeFitTask(job, seq, data);
    disposeFitData(data);
    const task = await putFitTask(job, seq, bytes, payloads, corrupt ? bytes.subarray(0, bytes.byteLength - 1) : bytes);
    await adapt.add('adapt', task, { jobId: jobIds.adapt(job.jobId, seq) });
    return task;
  }

  /** Resolves once every trainer together reported `count` committed tasks of the job. */
  function committed(trainers: AuxTrainerService[], jobId: string, count: number): Promise<FitTaskOutcome[]> {
    return new Promise((resolve) => {
      const seen: FitTaskOutcome[] = [];
      const on = (o: FitTaskOutcome): void => {
        if (o.jobId !== jobId || o.status !== 'committed') return;
        seen.push(o);
        if (seen.length === count) {
          for (const t of trainers) t.off('processed', on);
          resolve(seen);
        }
      };
      for (const t of trainers) t.on('processed', on);
    });
  }

  describe("when two aux-trainers consume one job's tasks, all queued at once", () => {
    it('should apply every seq exactly once, in order, equal to the in-process fit', async () => {
      const job = tinyJob('job-svc');
      await initJob(job, aux, jobs);
      const trainers = [await startTrainer({ concurrency: 2 }), await startTrainer({ concurrency: 2 })];
      let delays = 0;
      for (const t of trainers) t.on('delayed', () => delays++);
      const done = committed(trainers, job.jobId, 6);
      for (let seq = 5; seq >= 0; seq--) await enqueue(job, seq);
      const outcomes = await done;
      assert.deepEqual(
        outcomes.map((o) => o.seq),
        [0, 1, 2, 3, 4, 5],
        'committed in seq order',
      );
      assert.ok(delays > 0, 'later tasks waited for their predecessors');
      const reference = createAdapters(job);
      const schedule = scheduleOfJob(job);
      for (let seq = 0; seq < 6; seq++) {
        const data = fitData(job, seq);
        for (const [tap, { adapter, optimizer }] of reference.layers)
          glFitStep(adapter, optimizer, data.get(tap)!, { lr: schedule.lrAt(optimizer.stepCount) });
        disposeFitData(data);
      }
      const state = decodeJobAuxState(await aux.load(job.jobId, 6));
      assert.deepEqual(snapshotOf(state.adapters), snapshotOf(reference));
      state.adapters.dispose();
      reference.dispose();
      for (let seq = 0; seq < 6; seq++) assert.equal(await (await adapt.getJob(jobIds.adapt(job.jobId, seq)))?.getState(), 'completed');
    });
  });

  describe('when a queued payload is corrupt', () => {
    it('should fail that task without retries, fail its job, and keep serving other jobs', async () => {
      const bad = tinyJob('job-corrupt');
      const good = tinyJob('job-fine', { tenantId: 'tenant-b' });
      await initJob(bad, aux, jobs);
      await initJob(good, aux, jobs);
      const trainer = await startTrainer();
      const rejected = once(trainer, 'rejected');
      await enqueue(bad, 0, true);
      const [task, error] = (await rejected) as [AdaptTaskData, Error];
      assert.equal(task.jobId, bad.jobId);
      assert.match(error.message, /unusable payload: payload .* is corrupt/);
      const failed = (await adapt.getJob(jobIds.adapt(bad.jobId, 0)))!;
      // BullMQ records the failure after the processor returns; wait for it rather than sleep.
      await waitFor(async () => (await failed.getState()) === 'failed');
      const fresh = (await adapt.getJob(jobIds.adapt(bad.jobId, 0)))!;
      assert.equal(fresh.attemptsMade, 1, 'an unrecoverable task is not retried');
      assert.match(fresh.failedReason, /unusable payload/);
      const record = await jobs.get(bad.jobId);
      assert.equal(record?.status, 'failed');
      assert.match(record?.error?.message ?? '', /corrupt/);

      const done = committed([trainer], good.jobId, 2);
      await enqueue(good, 0);
      await enqueue(good, 1);
      await done;
      assert.equal(await aux.head(good.jobId), 2);
      assert.ok(trainer.running);
    });
  });

  describe('when the trainer is closed while a task runs', () => {
    it('should let the task finish before close() resolves', async () => {
      const job = tinyJob('job-close');
      await initJob(job, aux, jobs);
      const trainer = await startTrainer();
      const done = committed([trainer], job.jobId, 1);
      // Close as soon as the worker picked the task up (SIGTERM in the middle of a fit).
      const closed = new Promise<void>((resolve, reject) => trainer.once('active', () => trainer.close().then(resolve, reject)));
      await enqueue(job, 0);
      await closed;
      assert.equal(trainer.running, false);
      await done;
      assert.equal(await aux.head(job.jobId), 1);
      assert.equal(await (await adapt.getJob(jobIds.adapt(job.jobId, 0)))?.getState(), 'completed');
    });
  });

  describe('when the options are wrong', () => {
    it('should say which ones and how to fix them', () => {
      assert.throws(
        () => new AuxTrainerService({ redisUrl: 'http://x', concurrency: 0 }),
        /redisUrl must start with redis:\/\/.*concurrency must be an integer >= 1/,
      );
    });
  });

  /** Polls `check` every `everyMs` until it holds (at most 10 s): for states BullMQ sets after an event. */
  async function waitFor(check: () => Promise<boolean>, everyMs = 10): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('waitFor: condition not met within 10 s');
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
});
