import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AUX_PUBLISHED_QUEUES, BULLMQ_PREFIX, jobIds, keys, TTLS } from '@cola/config';
import { glFitStep, initBackend, tf, type AdapterSet } from '@cola/gl';
import { AuxStateStore, PayloadRepublishStore, TensorStore } from '@cola/store';
import { useRedis } from '@cola/testing';
import { JobStore } from '../jobs/job-store';
import { decodeJobAuxState } from '../state/job-aux-state';
import type { AdaptTaskData } from '../queues/adapt-task-data';
import { AuxPublishedPublisher } from './aux-published-publisher';
import { FitTaskNotReadyError, FitTaskRejectedError } from './fit-task-errors';
import { FitTaskProcessor, type FitTaskOutcome } from './fit-task-processor';
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
describe('the fit-task processor', () => {
  const redis = useRedis();

  interface Rig {
    conn: Redis;
    payloads: TensorStore;
    republish: PayloadRepublishStore;
    aux: AuxStateStore;
    jobs: JobStore;
    publisher: AuxPublishedPublisher;
    processor(opts?: { cacheJobs?: number }): FitTaskProcessor;
  }

  let rig: Rig;
  const processors: FitTaskProcessor[] = [];

  before(async () => {
    await initBackend();
    const conn = redis.client();
    const publisher = new AuxPublishedPublisher(conn);
    const payloads = new TensorStore(conn);
    const republish = new PayloadRepublishStore(conn);
    const aux = new AuxStateStore(conn);
    const jobs = new JobStore(conn);
    rig = {
      conn,
      payloads,
      republish,
      aux,
      jobs,
      publisher,
      processor: (opts = {}) => {
        const p = new FitTaskProcessor({ payloads, republish, aux, jobs, publisher }, opts);
        processors.push(p);
        return p;
      },
    };
  });

  after(async () => {
    for (const p of processors) p.close();
    await rig.publisher.close();
  });

  beforeEach(() => redis.flush());

  /** The in-process reference: glFitStep per layer on the same data, in seq order. */
  function referenceFit(job: TinyJob, adapters: AdapterSet, seq: number): void {
    const data = fitData(job, seq);
    const schedule = scheduleOfJob(job);
    for (const [tap, { adapter, optimizer }] of adapters.layers) {
      glFitStep(adapter, optimizer, data.get(tap)!, { lr: schedule.lrAt(optimizer.stepCount), clipNorm: job.meta.clipNorm });
    }
    disposeFitData(data);
  }

  /** Stores fit task `seq` of the job and returns its queue data. */
  async function publishTask(job: TinyJob, seq: number) {
    const data = fitData(job, seq);
    try {
      return await putFitTask(job, seq, encodeFitTask(job, seq, data), rig.payloads);
    } finally {
      disposeFitData(data);
    }
  }

  async function headSnapshot(jobId: string): Promise<{ version: number; values: Map<string, Float32Array> }> {
    const head = (await rig.aux.head(jobId))!;
    const state = decodeJobAuxState(await rig.aux.load(jobId, head));
    try {
      return { version: state.version, values: snapshotOf(state.adapters) };
    } finally {
      state.adapters.dispose();
    }
  }

  function assertBitEqual(actual: Map<string, Float32Array>, expected: Map<string, Float32Array>): void {
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
    for (const [k, v] of expected) assert.deepEqual(actual.get(k), v, `${k} differs`);
  }

  describe('when fit tasks are applied by the processor', () => {
    for (const cacheJobs of [16, 0]) {
      it(`should equal glFitStep in-process bit for bit (weights, optimizer slots, steps), with the state cache ${cacheJobs ? 'on' : 'off'}`, async () => {
        const job = tinyJob('job-eq', { clipNorm: 0.5 });
        await initJob(job, rig.aux, rig.jobs);
        const processor = rig.processor({ cacheJobs });
        const reference = createAdapters(job);
        const outcomes: FitTaskOutcome[] = [];
        for (let seq = 0; seq < 3; seq++) {
          outcomes.push(await processor.process(await publishTask(job, seq)));
          referenceFit(job, reference, seq);
        }
        const { version, values } = await headSnapshot(job.jobId);
        assert.equal(version, 3);
        assertBitEqual(values, snapshotOf(reference));
        reference.dispose();
        assert.deepEqual(
          outcomes.map((o) => [o.status, o.seq, o.version]),
          [
            ['committed', 0, 1],
            ['committed', 1, 2],
            ['committed', 2, 3],
          ],
        );
        // The first task loads from Redis; the next ones start from the state the previous one left.
        assert.deepEqual(
          outcomes.map((o) => o.cacheHit),
          cacheJobs ? [false, true, true] : [false, false, false],
        );
        for (const o of outcomes) for (const n of Object.values(o.gradNorms!)) assert.ok(n > 0 && Number.isFinite(n));
      });
    }

    it('should announce every version on each aux-published queue and delete the payload', async () => {
      const job = tinyJob('job-pub');
      await initJob(job, rig.aux, rig.jobs);
      const task = await publishTask(job, 0);
      await rig.processor().process(task);
      for (const name of AUX_PUBLISHED_QUEUES) {
        const q = new Queue(name, { connection: rig.conn, prefix: BULLMQ_PREFIX });
        const published = await q.getJob(jobIds.auxPublished(job.jobId, 1));
        assert.ok(published, `no aux published on ${name}`);
        assert.deepEqual(
          { ...published.data, publishedAtMs: 0 },
          {
            jobId: job.jobId,
            tenantId: job.tenantId,
            version: 1,
            seq: 0,
            stateKey: keys.auxVersion(job.jobId, 1),
            mergeable: true,
            publishedAtMs: 0,
          },
        );
        await q.close();
      }
      assert.equal(await rig.conn.exists(task.payloadKey), 0);
    });
  });

  describe('when a task is delivered again', () => {
    it('should acknowledge it as a duplicate and leave the version unchanged', async () => {
      const job = tinyJob('job-dup');
      await initJob(job, rig.aux, rig.jobs);
      const processor = rig.processor();
      const task = await publishTask(job, 0);
      await processor.process(task);
      const first = await headSnapshot(job.jobId);
      // The redelivery finds its payload deleted: the applied index answers before anything is read.
      const again = await processor.process(task);
      assert.deepEqual([again.status, again.version], ['duplicate', 1]);
      // A different trainer without the cached state says the same.
      const other = await rig.processor().process(task);
      assert.deepEqual([other.status, other.version], ['duplicate', 1]);
      const second = await headSnapshot(job.jobId);
      assert.equal(second.version, 1);
      assertBitEqual(second.values, first.values);
      assert.equal(await rig.jobs.status(job.jobId), 'running');
    });
  });

  describe('when a task arrives before its predecessor', () => {
    it('should refuse it as not ready without writing anything', async () => {
      const job = tinyJob('job-order');
      await initJob(job, rig.aux, rig.jobs);
      const processor = rig.processor();
      const t1 = await publishTask(job, 1);
      await assert.rejects(
        processor.process(t1),
        (e: unknown) => e instanceof FitTaskNotReadyError && e.reason === 'order' && /waits for task 0/.test(e.message),
      );
      assert.equal(await rig.aux.head(job.jobId), 0);
      assert.equal(await rig.conn.exists(t1.payloadKey), 1, 'the payload must survive for the retry');
      await processor.process(await publishTask(job, 0));
      assert.equal((await processor.process(t1)).version, 2);
    });
  });

  describe('when two processors race on the same job', () => {
    it('should apply each seq exactly once and in order', async () => {
      const job = tinyJob('job-race');
      await initJob(job, rig.aux, rig.jobs);
      const n = 6;
      const tasks: AdaptTaskData[] = [];
      for (let seq = 0; seq < n; seq++) tasks.push(await publishTask(job, seq));
      // Two trainers with their own connections and caches each get every task (as after a
      // redelivery storm), in opposite orders, and retry what is not ready yet.
      const a = new FitTaskProcessor({
        payloads: new TensorStore(redis.client()),
        republish: new PayloadRepublishStore(redis.client()),
        aux: new AuxStateStore(redis.client()),
        jobs: rig.jobs,
        publisher: rig.publisher,
      });
      const b = new FitTaskProcessor({
        payloads: new TensorStore(redis.client()),
        republish: new PayloadRepublishStore(redis.client()),
        aux: new AuxStateStore(redis.client()),
        jobs: rig.jobs,
        publisher: rig.publisher,
      });
      processors.push(a, b);
      const drain = async (p: FitTaskProcessor, order: typeof tasks): Promise<FitTaskOutcome[]> => {
        const done: FitTaskOutcome[] = [];
        const pending = [...order];
        while (pending.length) {
          const t = pending.shift()!;
          try {
            done.push(await p.process(t));
          } catch (e) {
            if (!(e instanceof FitTaskNotReadyError)) throw e;
            pending.push(t);
            await new Promise((r) => setImmediate(r));
          }
        }
        return done;
      };
      const [ra, rb] = await Promise.all([drain(a, tasks), drain(b, [...tasks].reverse())]);
      const committed = [...ra, ...rb].filter((o) => o.status === 'committed');
      assert.deepEqual(
        committed.map((o) => o.seq).sort((x, y) => x - y),
        [0, 1, 2, 3, 4, 5],
        'each seq committed exactly once',
      );
      for (const o of [...ra, ...rb]) assert.equal(o.version, o.seq + 1, 'seq s always lands in version s + 1');
      for (let seq = 0; seq < n; seq++) assert.equal(await rig.aux.appliedVersion(job.jobId, seq), seq + 1);
      const reference = createAdapters(job);
      for (let seq = 0; seq < n; seq++) referenceFit(job, reference, seq);
      const { version, values } = await headSnapshot(job.jobId);
      assert.equal(version, n);
      assertBitEqual(values, snapshotOf(reference));
      reference.dispose();
    });
  });

  describe('when a fit step makes a gradient or a weight non-finite', () => {
    it('should fail the job as training_diverged with its step, store and announce nothing, and keep other jobs training', async () => {
      const bad = tinyJob('job-diverged');
      const good = tinyJob('job-fine', { tenantId: 'tenant-b' });
      await initJob(bad, rig.aux, rig.jobs);
      await initJob(good, rig.aux, rig.jobs);
      const processor = rig.processor();
      for (let seq = 0; seq < 2; seq++) assert.equal((await processor.process(await publishTask(bad, seq))).status, 'committed');
      // Activations near float32's limit: X^T G overflows to Infinity in the fit step.
      const data = fitData(bad, 2);
      const huge = new Map([...data].map(([tap, d]) => [tap, d.kind === 'raw' ? { ...d, x: tf.mul(d.x, 3e38) as typeof d.x } : d]));
      const task = await putFitTask(bad, 2, encodeFitTask(bad, 2, huge), rig.payloads);
      for (const [tap, d] of huge) if (d.kind === 'raw' && d.x !== (data.get(tap) as typeof d).x) d.x.dispose();
      disposeFitData(data);
      const before = tf.memory().numTensors;
      await assert.rejects(processor.process(task), (e: unknown) => {
        assert.ok(e instanceof FitTaskRejectedError);
        assert.equal(e.code, 'training_diverged');
        return true;
      });
      assert.ok(tf.memory().numTensors <= before, 'the diverged state was disposed (the cached one with it)');
      const record = await rig.jobs.get(bad.jobId);
      assert.equal(record?.status, 'failed');
      assert.equal(record?.error?.code, 'training_diverged');
      assert.match(
        record?.error?.message ?? '',
        /training diverged at step 3: .*(gradient norm of layer \S+ is (NaN|Infinity)|aux weight \S+ became non-finite) in fit task 2/,
      );
      assert.equal(await rig.aux.head(bad.jobId), 2, 'the non-finite version was never stored');
      assert.equal((await rig.jobs.events(bad.jobId)).at(-1)?.level, 'error');

      for (let seq = 0; seq < 2; seq++) assert.equal((await processor.process(await publishTask(good, seq))).status, 'committed');
      assert.equal(await rig.jobs.status(good.jobId), 'running');
    });
  });

  describe('when a payload expired before a trainer read it', () => {
    it('should ask for it again, wait, and apply the re-published payload once, as the original would have been', async () => {
      const job = tinyJob('job-expired');
      await initJob(job, rig.aux, rig.jobs);
      const reference = createAdapters(job);
      referenceFit(job, reference, 0);
      const processor = rig.processor();
      const task = await publishTask(job, 0);
      await rig.payloads.delete(task.payloadKey);

      // Two deliveries find it gone: one request, the task waits (nothing is failed or applied).
      for (let i = 0; i < 2; i++)
        await assert.rejects(processor.process(task), (e: unknown) => {
          assert.ok(e instanceof FitTaskNotReadyError, String(e));
          assert.equal(e.reason, 'payload-missing');
          assert.match(e.message, /expired before it was read; asked the gpu-host to publish it again \(attempt 1\)/);
          return true;
        });
      const asked = await rig.republish.get(job.jobId, 0);
      assert.equal(asked?.state, 'requested');
      assert.deepEqual(
        (await rig.republish.pending(job.jobId)).map((r) => [r.seq, r.auxVersion, r.attempt]),
        [[0, 0, 1]],
      );
      assert.equal(await rig.jobs.status(job.jobId), 'running');
      assert.equal(await rig.aux.head(job.jobId), 0);

      // The gpu-host's answer: the same data under the attempt's key.
      const data = fitData(job, 0);
      const bytes = encodeFitTask(job, 0, data);
      disposeFitData(data);
      const ref = await rig.payloads.put(keys.republishedPayload(job.jobId, 0, 1), bytes, TTLS.payloadSeconds);
      assert.equal(await rig.republish.publish(job.jobId, { ...ref, seq: 0, auxVersion: 0, attempt: 1 }, asked!.requestedAtMs), true);
      assert.equal((await processor.process(task)).status, 'committed');
      assert.equal(await rig.aux.appliedVersion(job.jobId, 0), 1);
      assertBitEqual((await headSnapshot(job.jobId)).values, snapshotOf(reference));
      reference.dispose();
      assert.equal(await rig.republish.get(job.jobId, 0), null, 'the entry is cleared once applied');
      assert.equal(await rig.conn.exists(ref.key), 0, 'the re-published payload is deleted once applied');
      // A late redelivery is a duplicate, never a second application.
      assert.equal((await processor.process(task)).status, 'duplicate');
      assert.equal(await rig.aux.head(job.jobId), 1);
    });

    it('should ask for the next attempt when the re-published payload expired too', async () => {
      const job = tinyJob('job-expired-twice');
      await initJob(job, rig.aux, rig.jobs);
      const task = await publishTask(job, 0);
      await rig.payloads.delete(task.payloadKey);
      await assert.rejects(rig.processor().process(task), FitTaskNotReadyError);
      const asked = (await rig.republish.get(job.jobId, 0))!;
      await rig.republish.publish(
        job.jobId,
        { key: keys.republishedPayload(job.jobId, 0, 1), size: 1, sha256: 'a'.repeat(64), seq: 0, auxVersion: 0, attempt: 1 },
        asked.requestedAtMs,
      );
      await assert.rejects(rig.processor().process(task), /attempt 2/);
      assert.deepEqual(
        (await rig.republish.pending(job.jobId)).map((r) => r.attempt),
        [2],
      );
    });
  });

  describe('when a payload is truncated or corrupt', () => {
    it('should reject the task with a readable reason, fail its job, and leave another job unaffected', async () => {
      const bad = tinyJob('job-bad');
      const good = tinyJob('job-good', { tenantId: 'tenant-b' });
      await initJob(bad, rig.aux, rig.jobs);
      await initJob(good, rig.aux, rig.jobs);
      const processor = rig.processor();
      const data = fitData(bad, 0);
      const bytes = encodeFitTask(bad, 0, data);
      disposeFitData(data);
      // The stored bytes lost their tail; the task still names the full payload's size and hash.
      const task = await putFitTask(bad, 0, bytes, rig.payloads, bytes.subarray(0, bytes.byteLength - 100));
      const rejected: string[] = [];
      processor.on('rejected', (t, e) => rejected.push(`${t.jobId}: ${e.code}`));
      await assert.rejects(processor.process(task), (e: unknown) => {
        assert.ok(e instanceof FitTaskRejectedError);
        assert.equal(e.code, 'invalid_payload');
        assert.match(e.message, /fit task 0 of job job-bad has an unusable payload: payload .* is corrupt/);
        return true;
      });
      assert.deepEqual(rejected, ['job-bad: invalid_payload']);
      const record = await rig.jobs.get(bad.jobId);
      assert.equal(record?.status, 'failed');
      assert.equal(record?.error?.code, 'invalid_payload');
      assert.match(record?.error?.message ?? '', /unusable payload/);
      const events = await rig.jobs.events(bad.jobId);
      assert.equal(events.at(-1)?.level, 'error');
      assert.match(events.at(-1)?.message ?? '', /unusable payload/);
      assert.equal(await rig.aux.head(bad.jobId), 0, 'nothing was applied');

      for (let seq = 0; seq < 2; seq++) assert.equal((await processor.process(await publishTask(good, seq))).status, 'committed');
      assert.equal(await rig.aux.head(good.jobId), 2);
      assert.equal(await rig.jobs.status(good.jobId), 'running');
    });

    it('should reject a payload that is checksum-consistent but not an adaptation batch', async () => {
      const job = tinyJob('job-garbage');
      await initJob(job, rig.aux, rig.jobs);
      const data = fitData(job, 0);
      const full = encodeFitTask(job, 0, data);
      disposeFitData(data);
      // A producer that hashed an already cut buffer: size and sha256 agree, the protobuf does not.
      const cut = full.slice(0, Math.floor(full.byteLength / 2) + 3);
      const task = await putFitTask(job, 0, cut, rig.payloads);
      await assert.rejects(
        rig.processor().process(task),
        (e: unknown) => e instanceof FitTaskRejectedError && /unusable payload/.test(e.message),
      );
      assert.equal(await rig.jobs.status(job.jobId), 'failed');
    });

    it("should reject a payload whose layers are not the job's", async () => {
      const job = tinyJob('job-layers');
      await initJob(job, rig.aux, rig.jobs);
      const data = fitData(job, 0);
      const only = new Map([...data].slice(0, 2));
      const task = await putFitTask(job, 0, encodeFitTask(job, 0, only), rig.payloads);
      disposeFitData(data);
      const processor = rig.processor();
      await assert.rejects(
        processor.process(task),
        (e: unknown) => e instanceof FitTaskRejectedError && /must be the job's adapted layers/.test(e.message),
      );
      assert.equal(await rig.jobs.status(job.jobId), 'failed');
    });
  });

  describe('when many tasks run', () => {
    it('should leave tf.memory().numTensors unchanged after 10 tasks', async () => {
      const job = tinyJob('job-leak');
      await initJob(job, rig.aux, rig.jobs);
      const processor = rig.processor();
      const tasks: AdaptTaskData[] = [];
      for (let seq = 0; seq < 11; seq++) tasks.push(await publishTask(job, seq));
      const before = tf.memory().numTensors;
      await processor.process(tasks[0]!);
      // The cache now holds the job's live state; from here on every task must be net zero.
      const steady = tf.memory().numTensors;
      for (const t of tasks.slice(1)) await processor.process(t);
      assert.equal(tf.memory().numTensors, steady);
      // Duplicates and rejections must not leak either.
      await processor.process(tasks[3]!);
      assert.equal(tf.memory().numTensors, steady);
      const freed = processor.close();
      assert.ok(freed > 0);
      assert.equal(tf.memory().numTensors, before);
      assert.equal(await rig.aux.head(job.jobId), 11);
    });
  });
});
