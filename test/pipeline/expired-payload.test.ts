/**
 * A fit task whose payload expires before an aux-trainer reads it (a backlog that outlived the
 * payload TTL) is published again by the gpu-host, not turned into a failed job: real Redis, the
 * gpu-host and an aux-trainer in this process, payload keys deleted right after they are written.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { keys, QUEUES, queueOptions } from '@cola/config';
import { initBackend } from '@cola/gl';
import { loadCheckpoint, type GptModel } from '@cola/model';
import { AuxTrainerService, HostService, JobStore, putUpload, submitJob, type JobsQueueData } from '@cola/pipeline';
import { AuxStateStore } from '@cola/store';
import { useRedis } from '@cola/testing';
import { removeDir, writeTinyCheckpoint } from '@cola/devstack';
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

describe('when payloads expire before an aux-trainer reads them', () => {
  let client: Redis;
  let bull: Redis;
  let jobsQueue: Queue<JobsQueueData>;
  let modelDir: string;
  let model: GptModel;
  const data = spamSample(96, 16);
  // Interval 2: a re-published task is two host batches computed again.
  const job: TestJob = {
    aux: LOWRANK,
    batchSize: 8,
    maxLength: 32,
    lr: 5e-3,
    seed: 3,
    interval: 2,
    jobId: 'job-expire',
    tenantId: 'tenant-e',
  };

  before(async () => {
    await initBackend({ log: null });
    client = redis.client();
    bull = new Redis(redis.url, { maxRetriesPerRequest: null });
    jobsQueue = new Queue<JobsQueueData>(QUEUES.jobs, { connection: bull, ...queueOptions(QUEUES.jobs) });
    modelDir = await writeTinyCheckpoint(2);
    model = await loadCheckpoint(modelDir);
  });

  after(async () => {
    await jobsQueue.close();
    await bull.quit();
    model?.dispose();
    if (modelDir) removeDir(modelDir);
  });

  it('should publish them again and finish the job with every batch applied once, equal to a clean run', async () => {
    const jobs = new JobStore(client);
    const aux = new AuxStateStore(client);
    for (const [fileId, body] of Object.entries(jobFiles(job, data))) await putUpload(client, fileId, new TextEncoder().encode(body));
    // The trainer sits on each task for a moment before reading its payload: time to expire it.
    const trainer = new AuxTrainerService({ redisUrl: redis.url, fitDelayMs: 300, log: () => undefined });
    const host = new HostService({ redisUrl: redis.url, model, pollMs: 50, log: () => undefined });
    const expired = new Set([1, 4]);
    const deleted: string[] = [];
    const republished: { seq: number; auxVersion: number; attempt: number }[] = [];
    host.on('published', (e) => {
      if (e.jobId !== job.jobId || !expired.has(e.seq)) return;
      const key = keys.payload(job.jobId, e.seq);
      void client.del(key).then((n) => n === 1 && deleted.push(key));
    });
    host.on('republished', (e) => republished.push({ seq: e.seq, auxVersion: e.auxVersion, attempt: e.attempt }));
    const ended = new Promise<string>((resolve) => host.on('ended', (e) => e.jobId === job.jobId && resolve(e.status)));
    await trainer.start();
    await host.start();
    await submitJob(jobs, jobsQueue, jobSpec(job, data.labels));
    const status = await ended;
    await host.close();
    await trainer.close();

    const record = await jobs.get(job.jobId);
    assert.equal(status, 'succeeded', `job ended ${status}: ${record?.error?.message ?? ''}`);
    assert.equal(record?.status, 'succeeded');
    assert.deepEqual(
      deleted,
      [keys.payload(job.jobId, 1), keys.payload(job.jobId, 4)],
      'both payloads were gone before a trainer read them',
    );
    // With K = 1 the version a task was computed with is the head it waits on: always still stored.
    assert.deepEqual(republished, [
      { seq: 1, auxVersion: 1, attempt: 1 },
      { seq: 4, auxVersion: 4, attempt: 1 },
    ]);
    // 96 rows / batch 8 = 12 batches, interval 2: 6 fit tasks, each applied once by version seq + 1.
    const numTasks = 6;
    let lost = 0;
    let twice = 0;
    for (let seq = 0; seq < numTasks; seq++) {
      const v = await aux.appliedVersion(job.jobId, seq);
      if (v === null) lost++;
      else if (v !== seq + 1) twice++;
    }
    const final = await finalParams(client, job.jobId);
    twice += Math.max(0, final.version - numTasks);
    const err = relativeError(final.values, await referenceParams(modelDir, job, data));
    const events = (await jobs.events(job.jobId)).map((e) => e.message);
    console.log(
      `expired payloads: ${JSON.stringify({ expired: [...expired], republished, lost, appliedTwice: twice, relativeError: err })}`,
    );
    assert.equal(lost, 0, 'no batch lost');
    assert.equal(twice, 0, 'no batch applied twice');
    assert.equal(final.version, numTasks);
    assert.ok(err <= 1e-4, `relative error ${err} to the clean single-process run`);
    assert.equal(events.filter((m) => /payload expired before an aux-trainer read it/.test(m)).length, 2, events.join(' | '));
    assert.equal((await client.keys('cola:payload:*')).length, 0, 'no payload is left behind');
    assert.equal(await client.exists(keys.payloadRepublish(job.jobId)), 0, 'the re-publication entries are gone with the job');
  });
});
