import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { QUEUES, queueOptions } from '@cola/config';
import { initBackend } from '@cola/gl';
import { initGptModel } from '@cola/model';
import { loadSpamAssassin, toJsonl } from '@cola/data';
import { Task, type JobSpec } from '@cola/proto';
import { AuxTrainerService, HOST_ABORT_EXIT_CODE, HostService, JobStore, putUpload, submitJob, type JobsQueueData } from '@cola/pipeline';
import { useRedis } from '@cola/testing';
import { WEDGE_MODEL_CONFIG, WEDGE_MODEL_SEED } from './support/wedge-model';

const redis = useRedis();

function spec(jobId: string): JobSpec {
  return {
    jobId,
    tenantId: 'tenant-wedge',
    baseModel: 'tiny',
    task: Task.TASK_CLASSIFICATION,
    trainingFileId: 'spam-train',
    validationFileId: '',
    labels: ['ham', 'spam'],
    method: {
      aux: { kind: { $case: 'lowrank', value: { rank: 4, scale: 1, dropout: 0 } } },
      targetModules: [],
      merged: false,
      interval: 1,
      staleness: 1,
      transfer: undefined,
      mergeGroup: '',
    },
    hyperparameters: {
      epochs: 2,
      batchSize: 8,
      maxLength: 24,
      optimizer: { kind: { $case: 'adamw', value: { lr: 5e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 } } },
      warmupFraction: 0.1,
      maxSteps: 0,
      validationEvery: 0,
      maxWindows: 1,
    },
    seed: 5,
  };
}

/** Runs the wedged gpu-host in a child process until it exits; its exit code and output. */
function runWedgedHost(url: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/pipeline/support/wedged-gpu-host.ts'], {
    env: { ...process.env, REDIS_URL: url, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const s of [child.stdout, child.stderr]) s.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('when the gpu-host backend aborts (a wedged wasm heap) in a real child process', () => {
  let client: Redis;
  let bull: Redis;
  let jobsQueue: Queue<JobsQueueData>;

  before(async () => {
    await initBackend({ log: null });
    client = redis.client();
    bull = new Redis(redis.url, { maxRetriesPerRequest: null });
    jobsQueue = new Queue<JobsQueueData>(QUEUES.jobs, { connection: bull, ...queueOptions(QUEUES.jobs) });
  });

  after(async () => {
    await jobsQueue.close();
    await bull.quit();
  });

  it('should fail its liveness check, hand the job back and exit non-zero; a new host resumes the job to success', async () => {
    const rows = loadSpamAssassin()
      .train.slice(0, 40)
      .map((e) => ({ text: e.text, label: e.label }));
    await putUpload(client, 'spam-train', new TextEncoder().encode(toJsonl(rows)));
    const jobStore = new JobStore(client);
    const trainer = new AuxTrainerService({ redisUrl: redis.url, log: () => undefined });
    await trainer.start();
    await submitJob(jobStore, jobsQueue, spec('job-wedge'));

    const wedged = await runWedgedHost(redis.url);
    assert.equal(wedged.code, HOST_ABORT_EXIT_CODE, `exit code ${wedged.code}; output:\n${wedged.output}`);
    assert.match(wedged.output, /healthz 503 .*"status":"failing".*Aborted\(\)/, 'the liveness check failed before the exit');
    assert.notEqual((await jobStore.get('job-wedge'))?.status, 'failed', 'the job was handed back, not failed');
    const stepBefore = (await jobStore.progress('job-wedge'))?.step ?? 0;
    assert.ok(stepBefore >= 1, 'the wedged host had trained a step');

    // The restarted host (here in-process) resumes the job from the store.
    const model = initGptModel(WEDGE_MODEL_CONFIG, { seed: WEDGE_MODEL_SEED });
    const host = new HostService({ redisUrl: redis.url, model, pollMs: 50, log: () => undefined });
    const ended = new Promise<string>((resolve) => host.on('ended', (e) => e.jobId === 'job-wedge' && resolve(e.status)));
    await host.start();
    assert.equal(await ended, 'succeeded');
    await host.close();
    await trainer.close();
    model.dispose();
    const events = await jobStore.events('job-wedge');
    assert.ok(
      events.some((e) => /^Resumed at step/.test(e.message)),
      `events: ${events.map((e) => e.message).join(' | ')}`,
    );
    console.log(`wedged host exited with ${wedged.code} after step ${stepBefore}; the job resumed and succeeded`);
  });
});
