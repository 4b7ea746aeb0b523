/**
 * Fault tolerance and serving of the distributed pipeline: a trainer SIGKILLed mid-job, a
 * malformed payload on the queue, and the merger's served outputs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import { Queue } from 'bullmq';
import { jobIds, keys, QUEUES, queueOptions, TTLS } from '@cola/config';
import { initBackend, tf } from '@cola/gl';
import { forward, initClassificationHead, loadCheckpoint } from '@cola/model';
import { AuxStateStore, TensorStore } from '@cola/store';
import { classificationBatch, decodeJobAuxState, encodeJobAuxState, formatModelName } from '@cola/pipeline';
import { InferenceClient, type ClassifyResponse } from '@cola/proto';
import { useRedis } from '@cola/testing';
import { PipelineStack, removeDir, writeTinyCheckpoint } from '@cola/devstack';
import {
  finalParams,
  jobFiles,
  jobSpec,
  LOWRANK,
  referenceParams,
  relativeError,
  spamSample,
  type TestJob,
} from '../support/pipeline-fixtures';

const redis = useRedis();

describe('when the pipeline meets faults', () => {
  let stack: PipelineStack;
  let modelDir: string;
  const data = spamSample(96, 16);
  const base: Omit<TestJob, 'jobId' | 'tenantId'> = { aux: LOWRANK, batchSize: 8, maxLength: 32, lr: 5e-3, seed: 3 };

  before(async () => {
    await redis.whenReady();
    await initBackend({ log: null });
    modelDir = await writeTinyCheckpoint(2);
    // A short task lock so a killed trainer's task is taken over in seconds, not BullMQ's 30 s.
    stack = new PipelineStack({ redisUrl: redis.url, modelDir, env: { COLA_AUX_LOCK_MS: '2000' } });
    await stack.startAll(2);
  });

  after(async () => {
    await stack?.stop();
    if (modelDir) removeDir(modelDir);
  });

  it('should finish a job whose trainer is SIGKILLed mid-job with the clean weights, no batch lost or applied twice', async () => {
    const job: TestJob = { ...base, jobId: 'job-kill', tenantId: 'tenant-a' };
    await stack.submit(jobSpec(job, data.labels), jobFiles(job, data));
    const aux = new AuxStateStore(stack.redis);
    // Kill trainer 1 once the job is under way (a few versions committed).
    for (let tries = 0; (await aux.head(job.jobId)) === null || (await aux.head(job.jobId))! < 3; tries++) {
      assert.ok(tries < 2000, 'the job never reached version 3');
      await new Promise((r) => setTimeout(r, 10));
    }
    const victim = stack.services.get('aux-trainer-1')!;
    const pid = victim.pid;
    await victim.kill();
    assert.throws(() => process.kill(pid!, 0), 'the trainer process is gone');
    assert.equal(await stack.waitForFinal(job.jobId), 'succeeded');
    const final = await finalParams(stack.redis, job.jobId);
    assert.equal(final.version, 12, '96 rows / batch 8 = 12 fit tasks, one version each');
    // Every seq was applied exactly once, by exactly one version: nothing lost, nothing twice.
    for (let seq = 0; seq < 12; seq++) assert.equal(await aux.appliedVersion(job.jobId, seq), seq + 1, `seq ${seq}`);
    const err = relativeError(final.values, await referenceParams(modelDir, job, data));
    console.log(`after SIGKILL of a trainer: relative error to the clean run ${err.toExponential(2)}`);
    assert.ok(err <= 1e-4, `relative error ${err}`);
    await stack.start('aux-trainer-1', 'aux-trainer', { COLA_AUX_LOCK_MS: '2000' });
  });

  it('should serve from the merger exactly what the merged forward of the final weights gives', async () => {
    const job: TestJob = { ...base, jobId: 'job-serve', tenantId: 'tenant-s', merged: true, seed: 5 };
    await stack.submit(jobSpec(job, data.labels), jobFiles(job, data));
    assert.equal(await stack.waitForFinal(job.jobId), 'succeeded');
    const head = (await new AuxStateStore(stack.redis).loadHead(job.jobId))!;
    const texts = ['Click here to win a FREE prize now!!!', 'Re: meeting notes from yesterday', 'cheap meds online'];
    const client = new InferenceClient(stack.mergerAddress, credentials.createInsecure());
    const model = formatModelName({ kind: 'ft', base: 'cola-tiny', tenantId: job.tenantId, jobId: job.jobId });
    let served: ClassifyResponse | undefined;
    // The merger folds the last version in asynchronously; wait until it serves the head.
    for (let i = 0; i < 200 && (!served || served.version !== head.version); i++) {
      served = await new Promise<ClassifyResponse>((resolve, reject) =>
        client.classify({ model, texts }, (e, r) => (e ? reject(e) : resolve(r))),
      );
      if (served.version !== head.version) await new Promise((r) => setTimeout(r, 50));
    }
    client.close();
    assert.equal(served?.version, head.version);

    // The gpu-host's merged forward: the base with this job's seeded head, W + dW on every tap.
    const host = await loadCheckpoint(modelDir);
    initClassificationHead(host, 2, { seed: job.seed });
    const state = decodeJobAuxState(head.bytes, { paramsOnly: true });
    const deltas = state.adapters.deltas();
    const probs = tf.tidy(
      () => tf.softmax(forward(host, classificationBatch(texts, job.maxLength), { head: 'cls', deltas })).arraySync() as number[][],
    );
    for (const d of deltas.values()) tf.dispose([d.dW, ...(d.db ? [d.db] : [])]);
    state.adapters.dispose();
    host.dispose();
    served!.results.forEach((r, i) => {
      for (const s of r.scores) {
        const expected = probs[i]![data.labels.indexOf(s.label)]!;
        assert.ok(Math.abs(s.score - expected) <= 1e-5, `text ${i} ${s.label}: served ${s.score}, host ${expected}`);
      }
    });
  });

  it('should fail only the job whose payload is malformed, with a readable reason, and keep serving others', async () => {
    // A job whose fit task points at a truncated payload: initial aux state, then a cut blob.
    const bad: TestJob = { ...base, jobId: 'job-bad', tenantId: 'tenant-b' };
    const good: TestJob = { ...base, jobId: 'job-good', tenantId: 'tenant-g', seed: 9 };
    await stack.jobs.create(jobSpec(bad, data.labels), 'running');
    const donor = await new AuxStateStore(stack.redis).loadHead('job-kill');
    const donorState = decodeJobAuxState(donor!.bytes);
    await new AuxStateStore(stack.redis).init(
      bad.jobId,
      encodeJobAuxState(donorState.adapters, { jobId: bad.jobId, version: 0, schedule: donorState.schedule }),
    );
    donorState.adapters.dispose();
    const garbage = new TextEncoder().encode('this is not an AdaptationBatch at all');
    const ref = await new TensorStore(stack.redis).put(keys.payload(bad.jobId, 0), garbage, TTLS.payloadSeconds);
    const adapt = new Queue(QUEUES.adapt, { connection: stack.redis, ...queueOptions(QUEUES.adapt) });
    await adapt.add(
      'fit',
      { jobId: bad.jobId, tenantId: bad.tenantId, seq: 0, auxVersion: 0, payloadKey: ref.key, size: ref.size, sha256: ref.sha256 },
      { jobId: jobIds.adapt(bad.jobId, 0) },
    );
    await adapt.close();
    await stack.submit(jobSpec(good, data.labels), jobFiles(good, data));

    assert.equal(await stack.waitForFinal(bad.jobId), 'failed');
    const rec = await stack.jobs.get(bad.jobId);
    console.log(`malformed payload: job failed with ${rec?.error?.code}: ${rec?.error?.message}`);
    assert.match(rec?.error?.message ?? '', /payload|decode|invalid|truncat/i);
    assert.equal(await stack.waitForFinal(good.jobId), 'succeeded', 'the other job is unaffected');
    for (const [name, s] of stack.services) assert.ok(s.running, `${name} is still running`);
  });
});
