import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { jobIds, keys, QUEUES, queueOptions } from '@cola/config';
import { initBackend, tf } from '@cola/gl';
import { initGptModel, type GptModel } from '@cola/model';
import {
  ByteTokenizer,
  loadMobyDick,
  loadSpamAssassin,
  parseJsonl,
  toJsonl,
  windowCoverage,
  type ClassificationRow,
  type CompletionRow,
} from '@cola/data';
import { DType, Task, TransferMode, type AuxConfig, type JobSpec } from '@cola/proto';
import { AuxStateStore, CheckpointStore } from '@cola/store';
import { useRedis } from '@cola/testing';
import { finetune } from '@cola/train';
import { JobStore } from '../jobs/job-store';
import { validateJobSpec } from '../jobs/job-spec';
import { submitJob } from '../jobs/submit-job';
import type { JobsQueueData } from '../queues/jobs-queue-data';
import { putUpload } from '../jobs/uploads';
import { decodeJobAuxState } from '../state/job-aux-state';
import { HostService, type HostServiceEvents } from './host-service';
import { AuxTrainerService } from '../trainer/aux-trainer-service';
import { buildJobTaskData } from './job-task-data';

const CONFIG = { vocabSize: 258, nPositions: 32, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };
const baseModel = (): GptModel => initGptModel(CONFIG, { seed: 3 });
const quiet = (): void => undefined;

const redis = useRedis();
let client: Redis;
let bull: Redis;
let jobsQueue: Queue<JobsQueueData>;
let adaptQueue: Queue;
let jobStore: JobStore;
let auxStore: AuxStateStore;
let spamTrain: ClassificationRow[];
let spamVal: ClassificationRow[];
let moby: CompletionRow[];

const LOWRANK: AuxConfig = { kind: { $case: 'lowrank', value: { rank: 4, scale: 1, dropout: 0 } } };
const MLP: AuxConfig = { kind: { $case: 'mlp', value: { hidden: [8], activation: 'relu' } } };

interface SpecOptions {
  aux?: AuxConfig;
  merged?: boolean;
  interval?: number;
  staleness?: number;
  epochs?: number;
  task?: Task;
  trainingFileId?: string;
  validationFileId?: string;
  labels?: string[];
  seed?: number;
  gram?: boolean;
  /** 0 = auto; default 1. */
  maxWindows?: number;
  maxSteps?: number;
}

function spec(jobId: string, o: SpecOptions = {}): JobSpec {
  const lm = o.task === Task.TASK_CAUSAL_LM;
  return {
    jobId,
    tenantId: `tenant-${jobId}`,
    baseModel: 'tiny',
    task: o.task ?? Task.TASK_CLASSIFICATION,
    trainingFileId: o.trainingFileId ?? (lm ? 'moby-train' : 'spam-train'),
    validationFileId: o.validationFileId ?? (lm ? 'moby-val' : 'spam-val'),
    labels: lm ? [] : (o.labels ?? ['ham', 'spam']),
    method: {
      aux: o.aux ?? LOWRANK,
      targetModules: [],
      merged: o.merged ?? false,
      interval: o.interval ?? 1,
      staleness: o.staleness ?? 1,
      // Explicit modes: `auto` would pick gram at these shapes, and the bit-exact checks below are about activations.
      transfer: o.gram
        ? { mode: TransferMode.TRANSFER_MODE_GRAM, dtype: DType.DTYPE_FP32 }
        : { mode: TransferMode.TRANSFER_MODE_ACTIVATIONS, dtype: DType.DTYPE_FP32 },
      mergeGroup: '',
    },
    hyperparameters: {
      epochs: o.epochs ?? 1,
      batchSize: 8,
      maxLength: 24,
      optimizer: { kind: { $case: 'adamw', value: { lr: 5e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 5e-4 } } },
      warmupFraction: 0.1,
      maxSteps: o.maxSteps ?? 0,
      validationEvery: 0,
      // Inputs cut at max_length unless a test asks for windows (the reference below builds the same).
      maxWindows: o.maxWindows ?? 1,
    },
    seed: o.seed ?? 11,
  };
}

async function upload(fileId: string, rows: readonly (ClassificationRow | CompletionRow)[]): Promise<void> {
  await putUpload(client, fileId, new TextEncoder().encode(toJsonl(rows)));
}

/** The single-process ColA run the distributed job must equal: same files, same options. */
async function reference(
  s: JobSpec,
  train: readonly (ClassificationRow | CompletionRow)[],
  val: readonly (ClassificationRow | CompletionRow)[],
  maxWindows = 1,
) {
  const v = validateJobSpec(s);
  const data = buildJobTaskData(v, parseJsonl(toJsonl(train)), parseJsonl(toJsonl(val)), maxWindows);
  const model = baseModel();
  const run = await finetune(model, data, v.options, { quiet: true, evaluateBefore: true });
  const values = await run.adapters.values();
  run.adapters.dispose();
  model.dispose();
  return { values, before: run.before!, after: run.after!, steps: run.steps };
}

async function storedValues(jobId: string): Promise<Map<string, Float32Array>> {
  const head = await auxStore.head(jobId);
  assert.notEqual(head, null, `job ${jobId} has aux state`);
  const { adapters } = decodeJobAuxState(await auxStore.load(jobId, head!), { paramsOnly: true });
  const values = await adapters.values();
  adapters.dispose();
  return values;
}

function relativeError(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  let diff = 0;
  let norm = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    for (let i = 0; i < x.length; i++) {
      diff += (x[i]! - y[i]!) ** 2;
      norm += y[i]! ** 2;
    }
  }
  return Math.sqrt(diff / norm);
}

/** Resolves with the first event `name` that satisfies `pred`. */
/** The real aux-trainer in this process, counting the tasks it committed per job. */
async function startTrainer(fitDelayMs = 0): Promise<AuxTrainerService & { committed: Map<string, number> }> {
  const trainer = Object.assign(new AuxTrainerService({ redisUrl: redis.url, fitDelayMs }), { committed: new Map<string, number>() });
  trainer.on('processed', (o) => {
    if (o.status === 'committed') trainer.committed.set(o.jobId, (trainer.committed.get(o.jobId) ?? 0) + 1);
  });
  await trainer.start();
  return trainer;
}

function waitFor<K extends keyof HostServiceEvents>(
  host: HostService,
  name: K,
  pred: (e: HostServiceEvents[K][0]) => boolean = () => true,
  timeoutMs = 60_000,
): Promise<HostServiceEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${name}" event within ${timeoutMs} ms`)), timeoutMs);
    const on = (...args: HostServiceEvents[K]): void => {
      if (!pred(args[0])) return;
      clearTimeout(timer);
      host.off(name, on as never);
      resolve(args[0]);
    };
    host.on(name, on as never);
  });
}

function ended(host: HostService, jobId: string): Promise<HostServiceEvents['ended'][0]> {
  return waitFor(host, 'ended', (e) => e.jobId === jobId);
}

describe('when the gpu-host trains jobs against a real Redis with an in-process aux-trainer', () => {
  before(async () => {
    await initBackend({ log: null });
    client = redis.client();
    bull = new Redis(redis.url, { maxRetriesPerRequest: null });
    jobsQueue = new Queue<JobsQueueData>(QUEUES.jobs, { connection: bull, ...queueOptions(QUEUES.jobs) });
    adaptQueue = new Queue(QUEUES.adapt, { connection: bull, ...queueOptions(QUEUES.adapt) });
    jobStore = new JobStore(client);
    auxStore = new AuxStateStore(client);
    const spam = loadSpamAssassin();
    spamTrain = spam.train.slice(0, 40).map((e) => ({ text: e.text, label: e.label }));
    spamVal = spam.test.slice(0, 16).map((e) => ({ text: e.text, label: e.label }));
    const chapters = loadMobyDick()
      .slice(1, 4)
      .map((c) => c.text.slice(0, 700));
    moby = chapters.map((t) => ({ prompt: t.slice(0, 40), completion: t.slice(40) }));
  });

  beforeEach(async () => {
    await client.flushdb();
    await upload('spam-train', spamTrain);
    await upload('spam-val', spamVal);
    await upload('moby-train', moby.slice(0, 2));
    await upload('moby-val', moby.slice(2));
  });

  after(async () => {
    await jobsQueue.close();
    await adaptQueue.close();
    await bull.quit();
  });

  it('should end with the aux weights, loss count and evaluation of the single-process ColA run (I = 1, K = 1)', async () => {
    const before = tf.memory().numTensors;
    const model = baseModel();
    const host = new HostService({ redisUrl: redis.url, model, pollMs: 50, log: quiet });
    const trainer = await startTrainer();
    await host.start();
    const s = spec('job-exact', { epochs: 2 });
    const published: number[] = [];
    host.on('published', (e) => published.push(e.seq));
    const done = ended(host, 'job-exact');
    await submitJob(jobStore, jobsQueue, s);
    assert.equal((await done).status, 'succeeded', JSON.stringify((await jobStore.get('job-exact'))?.error));
    await host.close();
    await trainer.close();
    model.dispose();
    assert.equal(tf.memory().numTensors, before, 'the host leaves no tensor behind');

    const ref = await reference(s, spamTrain, spamVal);
    const err = relativeError(await storedValues('job-exact'), ref.values);
    console.log(`distributed vs single-process ColA after ${ref.steps} steps: relative parameter error ${err.toExponential(2)}`);
    assert.ok(err <= 1e-4, `relative error ${err}`);
    assert.deepEqual(published, [...Array(ref.steps).keys()], 'one fit task per batch, in seq order');
    const stored = await jobStore.eval('job-exact');
    assert.equal(stored?.metric, 'accuracy');
    assert.equal(stored?.count, ref.after.count);
    assert.ok(Math.abs(stored!.value! - ref.after.value) < 1e-9, `accuracy ${stored?.value} vs ${ref.after.value}`);
    const rec = await jobStore.get('job-exact');
    assert.equal(rec?.status, 'succeeded');
    const progress = await jobStore.progress('job-exact');
    assert.equal(progress?.step, ref.steps);
    assert.equal(progress?.seq, ref.steps);
    assert.equal(progress?.auxVersion, ref.steps);
    assert.ok(progress!.tokens > 0 && progress!.bytes > 0 && Number.isFinite(progress!.loss));
    const events = await jobStore.events('job-exact');
    assert.match(events[0]!.message, /Training started: 10 batches over 2 epoch/);
    assert.match(events.at(-1)!.message, /Training finished; validation accuracy/);
    assert.ok(events.some((e) => e.metrics?.step === 10 && e.metrics.loss !== undefined));
    // Before and after in the same metric: the starting model (seeded head, aux at zero) and the final one.
    assert.ok(Math.abs(stored!.before! - ref.before.value) < 1e-9, `before ${stored?.before} vs ${ref.before.value}`);
    const curve = events.filter((e) => e.metrics?.validation !== undefined).map((e) => e.metrics!.step);
    assert.equal(curve[0], 0, 'the first validation is before training');
    assert.equal(curve.at(-1), 10, 'the last one is the final model');
    assert.ok(curve.length >= 3, `validations at steps ${curve.join(', ')} (default: about five per run)`);
    assert.match(events.find((e) => /Auto settings|No auto settings/.test(e.message))!.message, /No auto settings|truncation/);
    // One checkpoint per epoch (5 batches each).
    assert.deepEqual(await new CheckpointStore(client).steps('job-exact'), [5, 10]);
    assert.deepEqual(await client.keys(`${keys.payload('job-exact', 0).replace(/:0$/, '')}:*`), [], 'every payload was consumed');
  });

  it('should run a 20-step job in row chunks of 3 and still end with the single-process (unchunked) weights', async () => {
    const before = tf.memory().numTensors;
    const model = baseModel();
    const host = new HostService({ redisUrl: redis.url, model, pollMs: 50, maxRowsPerChunk: 3, log: quiet });
    const trainer = await startTrainer();
    await host.start();
    const s = spec('job-chunked', { epochs: 4 });
    const done = ended(host, 'job-chunked');
    await submitJob(jobStore, jobsQueue, s);
    assert.equal((await done).status, 'succeeded');
    await host.close();
    await trainer.close();
    model.dispose();
    assert.equal(tf.memory().numTensors, before, 'the host leaves no tensor behind');
    const ref = await reference(s, spamTrain, spamVal);
    assert.equal(ref.steps, 20);
    const err = relativeError(await storedValues('job-chunked'), ref.values);
    console.log(
      `chunked host step (3 rows per chunk) vs single-process ColA after ${ref.steps} steps: relative error ${err.toExponential(2)}`,
    );
    assert.ok(err <= 1e-5, `relative error ${err}`);
  });

  it('should window long inputs (max_windows auto) in row chunks, record the resolved settings, and end with the windowed single-process run', async () => {
    const model = baseModel();
    // Chunks of 12 rows: an 8-row batch of e-mails in 8 windows each spans several chunks, never splitting an input.
    const host = new HostService({ redisUrl: redis.url, model, pollMs: 50, maxRowsPerChunk: 12, log: quiet });
    const trainer = await startTrainer();
    await host.start();
    const s = spec('job-windows', { maxWindows: 0, maxSteps: 2 });
    const done = ended(host, 'job-windows');
    await submitJob(jobStore, jobsQueue, s);
    assert.equal((await done).status, 'succeeded');
    await host.close();
    await trainer.close();
    model.dispose();
    const rec = await jobStore.get('job-windows');
    const cover = windowCoverage(
      spamTrain.map((r) => r.text),
      new ByteTokenizer(),
      24,
      8,
    );
    // E-mails run to thousands of bytes: auto asks for the most windows (8) of the given max_length 24.
    assert.deepEqual(rec?.resolved, { lr: 5e-3, epochs: 1, batchSize: 8, maxLength: 24, maxWindows: 8, droppedShare: cover.droppedShare });
    assert.ok(
      cover.droppedShare > 0 &&
        cover.droppedShare <
          windowCoverage(
            spamTrain.map((r) => r.text),
            new ByteTokenizer(),
            24,
            1,
          ).droppedShare,
    );
    const events = await jobStore.events('job-windows');
    assert.match(
      events.find((e) => /Auto settings/.test(e.message))!.message,
      /max_windows=8 .*truncation: \d+\.\d% of the training tokens are beyond 8 window\(s\) of 24 tokens/,
    );
    const ref = await reference(s, spamTrain, spamVal, 8);
    assert.equal(ref.steps, 2);
    const err = relativeError(await storedValues('job-windows'), ref.values);
    assert.ok(err <= 1e-4, `relative error ${err}`);
    const stored = await jobStore.eval('job-windows');
    assert.ok(Math.abs(stored!.value! - ref.after.value) < 1e-9, `windowed accuracy ${stored?.value} vs ${ref.after.value}`);
    assert.ok(Math.abs(stored!.before! - ref.before.value) < 1e-9, `windowed before ${stored?.before} vs ${ref.before.value}`);
  });

  it('should ship gram payloads (summed over I = 2 batches) and still end with the single-process weights', async () => {
    const model = baseModel();
    const host = new HostService({ redisUrl: redis.url, model, pollMs: 50, log: quiet });
    const trainer = await startTrainer();
    await host.start();
    const s = spec('job-gram', { gram: true, interval: 2, epochs: 2 });
    const sizes: number[] = [];
    host.on('published', (e) => sizes.push(e.bytes));
    const done = ended(host, 'job-gram');
    await submitJob(jobStore, jobsQueue, s);
    assert.equal((await done).status, 'succeeded');
    await host.close();
    await trainer.close();
    model.dispose();
    const ref = await reference(s, spamTrain, spamVal);
    const err = relativeError(await storedValues('job-gram'), ref.values);
    console.log(`gram transfer, I = 2: payload sizes ${sizes.join(', ')} bytes; relative error vs single-process ${err.toExponential(2)}`);
    assert.equal(sizes.length, 5);
    // Only the header's varints (seq, aux version: 0 is not written) change the size, never the rows.
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 8, `gram payload sizes ${sizes.join(', ')}`);
    assert.ok(err <= 1e-4, `relative error ${err}`);
  });

  it('should pack jobs that share a head into mixed batches, each ending with its solo weights (lowrank merged + mlp unmerged)', async () => {
    const model = baseModel();
    const host = new HostService({ redisUrl: redis.url, model, pollMs: 50, maxTenantsPerBatch: 2, log: quiet });
    const trainer = await startTrainer();
    host.pause();
    await host.start();
    const a = spec('job-merged', { merged: true });
    // Another seed: another classifier head, routed to its rows in the mixed batches.
    const b = spec('job-mlp', { aux: MLP, seed: 12 });
    const steps: string[][] = [];
    host.on('step', (e) => steps.push(e.jobIds));
    // Lockstep: after a step, wait until both tenants hold their next aux version, so every step
    // is a mixed one and runs with trained (non-zero) aux weights.
    const versions = new Map<string, number>();
    host.on('published', () => host.pause());
    host.on('aux', (e) => {
      versions.set(e.jobId, e.version);
      if (versions.get('job-merged') === versions.get('job-mlp')) host.resume();
    });
    const started = Promise.all(['job-merged', 'job-mlp'].map((id) => waitFor(host, 'started', (e) => e.jobId === id)));
    const done = Promise.all([ended(host, 'job-merged'), ended(host, 'job-mlp')]);
    await submitJob(jobStore, jobsQueue, a);
    await submitJob(jobStore, jobsQueue, b);
    await started;
    host.resume();
    assert.deepEqual(
      (await done).map((e) => e.status),
      ['succeeded', 'succeeded'],
    );
    await host.close();
    await trainer.close();
    model.dispose();

    assert.equal(steps.length, 5);
    for (const s of steps) assert.deepEqual(s.slice().sort(), ['job-merged', 'job-mlp'], 'every step served both tenants in one batch');
    for (const [id, s] of [
      ['job-merged', a],
      ['job-mlp', b],
    ] as const) {
      const ref = await reference(s, spamTrain, spamVal);
      const err = relativeError(await storedValues(id), ref.values);
      console.log(`${id} in mixed batches vs its solo single-process run: relative error ${err.toExponential(2)}`);
      assert.ok(err <= 1e-4, `${id}: relative error ${err}`);
    }
  });

  it('should never have more than K fit tasks of a job in flight, and serve two jobs fairly', async () => {
    const model = baseModel();
    const host = new HostService({ redisUrl: redis.url, model, pollMs: 50, log: quiet });
    const trainer = await startTrainer(30);
    await host.start();
    const K = 2;
    const jobs = [spec('job-cls', { staleness: K, epochs: 2 }), spec('job-lm', { staleness: K, task: Task.TASK_CAUSAL_LM, epochs: 3 })];
    const maxInFlight = new Map<string, number>();
    host.on('published', (e) => {
      const inFlight = e.seq + 1 - (trainer.committed.get(e.jobId) ?? 0);
      maxInFlight.set(e.jobId, Math.max(maxInFlight.get(e.jobId) ?? 0, inFlight));
    });
    const done: Record<string, number> = {};
    let worstGap = 0;
    host.on('step', (e) => {
      for (const id of e.jobIds) done[id] = (done[id] ?? 0) + 1;
      const [c, l] = [done['job-cls'] ?? 0, done['job-lm'] ?? 0];
      if (c < 10 && l < 6 && c > 0 && l > 0) worstGap = Math.max(worstGap, Math.abs(c - l));
    });
    const finished = Promise.all(jobs.map((s) => ended(host, s.jobId)));
    for (const s of jobs) await submitJob(jobStore, jobsQueue, s);
    assert.deepEqual(
      (await finished).map((e) => e.status),
      ['succeeded', 'succeeded'],
    );
    await host.close();
    await trainer.close();
    model.dispose();
    console.log(
      `K = ${K}: most fit tasks in flight ${JSON.stringify(Object.fromEntries(maxInFlight))}; largest step gap while both ran ${worstGap}`,
    );
    for (const [id, m] of maxInFlight) {
      assert.ok(m <= K, `${id} had ${m} tasks in flight`);
      assert.equal(m, K, `${id} used its K slots (the trainer is slow)`);
    }
    assert.ok(worstGap <= 2 * K + 1, `round robin kept both jobs within ${2 * K + 1} steps of each other (gap ${worstGap})`);
    const lmEval = await jobStore.eval('job-lm');
    assert.equal(lmEval?.metric, 'perplexity');
    assert.ok(lmEval!.value! > 1 && lmEval!.count > 0);
  });

  /** Blocks this process's event loop (host, trainer and BullMQ timers with it) for `ms`, as a long synchronous host step does. */
  function blockEventLoop(ms: number): void {
    const end = performance.now() + ms;
    while (performance.now() < end);
  }

  /** Trains one 20-step job, blocking the event loop for `blockMs` after its first step; returns the host's log lines. */
  async function trainThroughBlock(jobId: string, jobLockMs: number, blockMs: number): Promise<{ status: string; lines: string[] }> {
    const lines: string[] = [];
    const model = baseModel();
    const host = new HostService({
      redisUrl: redis.url,
      model,
      pollMs: 50,
      jobLockMs,
      log: (level, msg) => lines.push(`${level}: ${msg}`),
    });
    const trainer = await startTrainer();
    await host.start();
    const done = ended(host, jobId);
    const firstStep = waitFor(host, 'step', (e) => e.jobIds.includes(jobId));
    await submitJob(jobStore, jobsQueue, spec(jobId, { epochs: 4 }));
    await firstStep;
    blockEventLoop(blockMs);
    const { status } = await done;
    // BullMQ's stalled check and a delivery of the lapsed job come after the block; give them time.
    await new Promise((r) => setTimeout(r, Math.min(jobLockMs, 30_000) + 1000));
    await host.close();
    await trainer.close();
    model.dispose();
    return { status, lines };
  }

  it("should keep training a job through an event-loop block longer than BullMQ's default lock when its jobs lock outlasts it, and warn of the block", async () => {
    // The control: a lock shorter than the block lapses, the job is delivered again while it still trains here.
    const lapsed = await trainThroughBlock('job-short-lock', 5_000, 9_000);
    assert.equal(lapsed.status, 'succeeded');
    assert.ok(
      lapsed.lines.some((l) => /delivered again while active here|could not renew lock|Missing lock/.test(l)),
      `a 5 s lock lapsed during a 9 s block: ${lapsed.lines.filter((l) => !l.startsWith('info')).join(' | ')}`,
    );
    await client.flushdb();
    await upload('spam-train', spamTrain);
    await upload('spam-val', spamVal);
    const held = await trainThroughBlock('job-long-lock', 14_000, 9_000);
    assert.equal(held.status, 'succeeded');
    const trouble = held.lines.filter((l) => /delivered again|lock|stalled/i.test(l) && !/event loop blocked/.test(l));
    assert.deepEqual(trouble, [], 'a 14 s lock held through the 9 s block: no redelivery, no lock error');
    assert.ok(
      held.lines.some((l) => /^warn: event loop blocked for (8|9)\.\d s, over half the jobs lock \(14 s\)/.test(l)),
      `the block was reported: ${held.lines.filter((l) => l.startsWith('warn')).join(' | ')}`,
    );
  });

  it('should resume a job after a restart at the data position of its aux head, ending with the uninterrupted weights', async () => {
    const s = spec('job-resume', { interval: 2, epochs: 2 });
    const trainer = await startTrainer();
    const model1 = baseModel();
    const host1 = new HostService({ redisUrl: redis.url, model: model1, pollMs: 50, log: quiet });
    await host1.start();
    let stepsBefore = 0;
    host1.on('step', () => stepsBefore++);
    const stopped = waitFor(host1, 'published', (e) => e.seq === 1).then(() => host1.close());
    await submitJob(jobStore, jobsQueue, s);
    await stopped;
    model1.dispose();
    assert.equal(await (await jobsQueue.getJob(jobIds.job('job-resume')))!.getState(), 'waiting', 'the job went back to the queue');

    const model2 = baseModel();
    const host2 = new HostService({ redisUrl: redis.url, model: model2, pollMs: 50, log: quiet });
    let stepsAfter = 0;
    host2.on('step', () => stepsAfter++);
    const started = waitFor(host2, 'started', (e) => e.jobId === 'job-resume');
    const done = ended(host2, 'job-resume');
    await host2.start();
    const resumed = await started;
    assert.equal((await done).status, 'succeeded');
    await host2.close();
    await trainer.close();
    model2.dispose();

    console.log(
      `restart after ${stepsBefore} batches; resumed at step ${resumed.step} with ${resumed.nextSeq - resumed.auxVersion} task(s) in flight`,
    );
    assert.equal(stepsBefore, 4);
    assert.equal(resumed.step, 2 * resumed.nextSeq, 'data position = next seq x I');
    assert.equal(resumed.nextSeq, 2, 'the two published tasks are applied or in flight, not recomputed');
    assert.equal(stepsBefore + stepsAfter, 10, 'no batch lost or run twice');
    const ref = await reference(s, spamTrain, spamVal);
    const err = relativeError(await storedValues('job-resume'), ref.values);
    assert.ok(err <= 1e-4, `relative error ${err}`);
    assert.match((await jobStore.events('job-resume')).map((e) => e.message).join('\n'), /Resumed at step 4\/10 from aux version \d/);
  });

  it('should resume with the fit task still queued counted as in flight, not recomputed', async () => {
    const s = spec('job-inflight', { interval: 2 });
    const model1 = baseModel();
    // No trainer yet: task 0 stays queued while the host restarts.
    const host1 = new HostService({ redisUrl: redis.url, model: model1, pollMs: 50, log: quiet });
    await host1.start();
    const stopped = waitFor(host1, 'published', (e) => e.seq === 0).then(() => host1.close());
    await submitJob(jobStore, jobsQueue, s);
    await stopped;
    model1.dispose();

    const model2 = baseModel();
    const host2 = new HostService({ redisUrl: redis.url, model: model2, pollMs: 50, log: quiet });
    const started = waitFor(host2, 'started', (e) => e.jobId === 'job-inflight');
    const done = ended(host2, 'job-inflight');
    await host2.start();
    const resumed = await started;
    assert.deepEqual(
      { step: resumed.step, nextSeq: resumed.nextSeq, auxVersion: resumed.auxVersion },
      { step: 2, nextSeq: 1, auxVersion: 0 },
    );
    const trainer = await startTrainer();
    assert.equal((await done).status, 'succeeded');
    await host2.close();
    await trainer.close();
    model2.dispose();
    assert.equal(trainer.committed.get('job-inflight'), 2, 'task 0 (published before the restart) and task 1, each applied once');
    const ref = await reference(s, spamTrain, spamVal);
    assert.ok(relativeError(await storedValues('job-inflight'), ref.values) <= 1e-4);
  });

  it('should cancel a job: stop scheduling it, withdraw its queued fit tasks and delete their payloads', async () => {
    const model = baseModel();
    // No trainer: the job's tasks stay queued.
    const host = new HostService({ redisUrl: redis.url, model, pollMs: 50, log: quiet });
    await host.start();
    const published = waitFor(host, 'published', (e) => e.jobId === 'job-cancel' && e.seq === 1);
    await submitJob(jobStore, jobsQueue, spec('job-cancel', { staleness: 2 }));
    await published;
    assert.equal(await client.exists(keys.payload('job-cancel', 0), keys.payload('job-cancel', 1)), 2);
    assert.equal(await adaptQueue.getJobCountByTypes('waiting'), 2);
    const done = ended(host, 'job-cancel');
    await jobStore.transition('job-cancel', 'cancelling', 'gateway');
    assert.equal((await done).status, 'cancelled');
    assert.equal(await client.exists(keys.payload('job-cancel', 0), keys.payload('job-cancel', 1)), 0, 'payloads deleted');
    assert.equal(await adaptQueue.getJob(jobIds.adapt('job-cancel', 0)), undefined, 'task withdrawn');
    assert.equal(await adaptQueue.getJobCountByTypes('waiting'), 0);
    assert.equal((await jobStore.get('job-cancel'))?.status, 'cancelled');
    assert.match((await jobStore.events('job-cancel')).at(-1)!.message, /Job cancelled at step 2; 2 queued fit task\(s\) withdrawn/);
    assert.deepEqual(host.activeJobIds, []);
    await host.close();
    model.dispose();
  });

  it('should fail a job with a readable reason (bad data, or a failure a trainer recorded) and keep training the others', async () => {
    const model = baseModel();
    const host = new HostService({ redisUrl: redis.url, model, pollMs: 50, log: quiet });
    const trainer = await startTrainer(20);
    await host.start();
    await upload('bad-train', [...spamTrain.slice(0, 8), { text: 'hello', label: 'eggs' }]);
    const badData = ended(host, 'job-bad-data');
    const good = ended(host, 'job-good');
    const victim = ended(host, 'job-victim');
    await submitJob(jobStore, jobsQueue, spec('job-bad-data', { trainingFileId: 'bad-train' }));
    await submitJob(jobStore, jobsQueue, spec('job-good'));
    await submitJob(jobStore, jobsQueue, spec('job-victim', { epochs: 3 }));
    const failed = await badData;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error?.code, 'invalid_training_file');
    const rec = await jobStore.get('job-bad-data');
    assert.equal(rec?.status, 'failed');
    assert.match(rec!.error!.message, /label "eggs", which is not one of the job's labels \["ham","spam"\]/);
    // A trainer that met a malformed payload marks the job failed: the host stops it.
    await waitFor(host, 'published', (e) => e.jobId === 'job-victim' && e.seq === 2);
    await jobStore.transition('job-victim', 'failed', 'aux-trainer', {
      code: 'invalid_payload',
      message: 'payload of fit task 2 is truncated',
      param: null,
    });
    assert.equal((await victim).status, 'failed');
    assert.equal((await good).status, 'succeeded', 'the other job is unaffected');
    assert.equal((await jobStore.get('job-victim'))?.error?.code, 'invalid_payload', "the trainer's reason is kept");
    assert.equal(await client.exists(keys.payload('job-victim', 4)), 0);
    await host.close();
    await trainer.close();
    model.dispose();
  });
});
