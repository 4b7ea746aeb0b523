/**
 * `npm run bench:pipeline`: the communication side of ColA, measured side by side in one run on
 * the demo configuration (cola-tiny, SpamAssassin, lowrank r=8 on c_attn + linear head).
 *
 *  1. host tokens/s: single-process ColA (host step only), in-process LoRA (whole step), and the
 *     distributed run (gpu-host + 2 aux-trainers + merger as processes, K = 1, fp32 activations);
 *  2. bytes per fit step and per token for each transfer mode and dtype, and the communication
 *     overhead: the fraction of host step time spent encoding and writing the payload to Redis;
 *  3. gram bytes per step at several batch sizes (they do not depend on the batch);
 *  4. aux-trainer throughput (fit tasks/s) with 1 and with 2 trainer processes.
 *
 * Flags: --steps N (host batches per measurement, default 8), --batch N (32), --max-length N (96)
 */
import { cpus } from 'node:os';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AdapterSet, initBackend, tf, type AdaptationData } from '@cola/gl';
import { hostStep, initClassificationHead, loadCheckpoint, resolveTaps, tapShape, type GptModel } from '@cola/model';
import { keys, QUEUES, queueOptions, TTLS, jobIds } from '@cola/config';
import { TensorStore, AuxStateStore } from '@cola/store';
import { encodeAdaptation, encodeJobAuxState, type TransferSpec } from '@cola/pipeline';
import { startRedis, ServiceProcess, freePort } from '@cola/testing';
import { PipelineStack } from '@cola/devstack';
import { toJsonl, loadSpamAssassin } from '@cola/data';
import { Task, TransferMode, DType } from '@cola/proto';
import { BackpropStepper, DEFAULT_BASE_MODEL_DIR, spamTask, validateFinetuneOptions, type TaskBatch } from '@cola/train';
import { LinearSchedule } from '@cola/gl';

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const STEPS = flag('steps', 8);
const BATCH = flag('batch', 32);
const MAX_LENGTH = flag('max-length', 96);
const TRANSFERS: TransferSpec[] = (['activations', 'gram'] as const).flatMap((mode) =>
  (['fp32', 'fp16', 'bf16'] as const).map((dtype) => ({ mode, dtype })),
);

function table(head: string[], rows: string[][]): void {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(w[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log('');
}

function adapters(model: GptModel): AdapterSet {
  const o = validateFinetuneOptions({ method: 'cola', task: 'classification', aux: { type: 'lowrank', rank: 8, scale: 1 } });
  return AdapterSet.create({
    layers: resolveTaps(model.config, o.targetModules).map((tap) => ({
      tap,
      ...tapShape(model.config, tap),
      aux: tap === 'score' ? o.headAux : o.aux,
    })),
    optimizer: o.optimizer,
    seed: 0,
  });
}

function batchesOf(batch: number, count: number): TaskBatch[] {
  const data = spamTask({ trainSize: batch * count });
  return [...data.train({ batchSize: batch, maxLength: MAX_LENGTH, seed: 0, epoch: 0 })].slice(0, count);
}

function tokens(b: TaskBatch): number {
  return b.mask.reduce((a, x) => a + x, 0);
}

async function main(): Promise<void> {
  const backend = await initBackend();
  console.log(
    `bench:pipeline — cola-tiny, SpamAssassin, lowrank r=8 (c_attn + linear head), batch ${BATCH} x ${MAX_LENGTH} bytes, ${STEPS} steps per measurement`,
  );
  console.log(`machine: ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, node ${process.version}, tfjs ${backend}\n`);
  const redisHandle = await startRedis();
  const redis = new Redis(redisHandle.url, { maxRetriesPerRequest: null });
  const payloads = new TensorStore(redis);
  try {
    const model = await loadCheckpoint(DEFAULT_BASE_MODEL_DIR);
    initClassificationHead(model, 2, { seed: 0 });
    const set = adapters(model);
    const batches = batchesOf(BATCH, STEPS + 1);
    const warm = batches[0]!;

    // 1 + 2: one host step per batch; every transfer encoding of its output, written to Redis.
    const perTransfer = new Map<string, { encodeMs: number; writeMs: number; bytes: number }>();
    let hostMs = 0;
    let hostTokens = 0;
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!;
      const t0 = performance.now();
      const res = hostStep(model, b, { head: 'cls', labels: b.labels, taps: set.taps, inject: set.inject });
      const dt = performance.now() - t0;
      const layers = new Map<string, AdaptationData>([...res.taps].map(([tap, { x, g }]) => [tap, { kind: 'raw', x, g }]));
      for (const t of TRANSFERS) {
        const e0 = performance.now();
        const bytes = encodeAdaptation(
          { jobId: 'bench', tenantId: 'bench', seq: i, auxVersion: i, numBatches: 1, tokens: tokens(b), loss: res.loss },
          layers,
          t,
        );
        const e1 = performance.now();
        await payloads.put(keys.payload('bench', i), bytes, TTLS.payloadSeconds);
        const e2 = performance.now();
        if (i === 0) continue; // warm-up
        const k = `${t.mode}/${t.dtype}`;
        const acc = perTransfer.get(k) ?? { encodeMs: 0, writeMs: 0, bytes: 0 };
        perTransfer.set(k, { encodeMs: acc.encodeMs + (e1 - e0), writeMs: acc.writeMs + (e2 - e1), bytes: acc.bytes + bytes.byteLength });
      }
      for (const { x, g } of res.taps.values()) tf.dispose([x, g]);
      if (i > 0) {
        hostMs += dt;
        hostTokens += tokens(b);
      }
    }
    const colaTps = (hostTokens / hostMs) * 1000;

    // In-process LoRA on the same batches: forward, backward into the adapters and the optimizer step.
    const lora = new BackpropStepper(model, set, {
      schedule: new LinearSchedule({ peakLr: 1e-3, totalSteps: batches.length, warmupSteps: 0 }),
    });
    lora.step(warm);
    let loraMs = 0;
    for (const b of batches.slice(1)) loraMs += lora.step(b).hostMs;
    const loraTps = (hostTokens / loraMs) * 1000;

    const avgTokens = hostTokens / STEPS;
    const hostStepMs = hostMs / STEPS;
    const rows = [...perTransfer].map(([k, v]) => {
      const encode = v.encodeMs / STEPS;
      const write = v.writeMs / STEPS;
      return [
        k,
        Math.round(v.bytes / STEPS).toLocaleString('en-US'),
        (v.bytes / STEPS / avgTokens).toFixed(1),
        encode.toFixed(1),
        write.toFixed(1),
        `${((100 * (encode + write)) / (hostStepMs + encode + write)).toFixed(1)}%`,
      ];
    });
    console.log(`host step: ${hostStepMs.toFixed(1)} ms for ${avgTokens.toFixed(0)} tokens`);
    table(['transfer', 'bytes/step', 'bytes/token', 'encode ms', 'write ms', 'overhead'], rows);

    // 3: gram bytes at several batch sizes.
    const gramRows: string[][] = [];
    for (const bs of [8, 16, 32, 64]) {
      const b = batchesOf(bs, 1)[0]!;
      const res = hostStep(model, b, { head: 'cls', labels: b.labels, taps: set.taps, inject: set.inject });
      const layers = new Map<string, AdaptationData>([...res.taps].map(([tap, { x, g }]) => [tap, { kind: 'raw', x, g }]));
      const act = encodeAdaptation(
        { jobId: 'b', tenantId: 'b', seq: 0, auxVersion: 0, numBatches: 1, tokens: tokens(b), loss: res.loss },
        layers,
        { mode: 'activations', dtype: 'fp32' },
      );
      const gram = encodeAdaptation(
        { jobId: 'b', tenantId: 'b', seq: 0, auxVersion: 0, numBatches: 1, tokens: tokens(b), loss: res.loss },
        layers,
        { mode: 'gram', dtype: 'fp32' },
      );
      for (const { x, g } of res.taps.values()) tf.dispose([x, g]);
      gramRows.push([String(bs), act.byteLength.toLocaleString('en-US'), gram.byteLength.toLocaleString('en-US')]);
    }
    table(['batch', 'activations fp32 bytes/step', 'gram fp32 bytes/step'], gramRows);

    // 4: aux-trainer throughput. Fill the adapt queue with fit tasks of several jobs (valid payloads
    // from real host steps, every job at version 0), then time how fast 1 or 2 trainer processes drain it.
    const adapt = new Queue(QUEUES.adapt, { connection: redis, ...queueOptions(QUEUES.adapt) });
    const auxStore = new AuxStateStore(redis);
    const host = batches[1]!;
    const res = hostStep(model, host, { head: 'cls', labels: host.labels, taps: set.taps, inject: set.inject });
    const layers = new Map<string, AdaptationData>([...res.taps].map(([tap, { x, g }]) => [tap, { kind: 'raw', x, g }]));
    const throughput: string[][] = [];
    const JOBS = 4;
    const TASKS = 6;
    for (const trainers of [1, 2]) {
      const jobIdsOf = Array.from({ length: JOBS }, (_, j) => `bench-t${trainers}-j${j}`);
      for (const jobId of jobIdsOf) {
        await auxStore.init(
          jobId,
          encodeJobAuxState(set, { jobId, version: 0, schedule: { peakLr: 1e-3, totalSteps: TASKS, warmupSteps: 0 } }),
        );
        for (let seq = 0; seq < TASKS; seq++) {
          const bytes = encodeAdaptation(
            { jobId, tenantId: 'bench', seq, auxVersion: 0, numBatches: 1, tokens: tokens(host), loss: res.loss },
            layers,
            { mode: 'activations', dtype: 'fp32' },
          );
          const ref = await payloads.put(keys.payload(jobId, seq), bytes, TTLS.payloadSeconds);
          await adapt.add(
            'fit',
            { jobId, tenantId: 'bench', seq, auxVersion: 0, payloadKey: ref.key, size: ref.size, sha256: ref.sha256 },
            { jobId: jobIds.adapt(jobId, seq) },
          );
        }
      }
      const procs = await Promise.all(
        Array.from({ length: trainers }, async (_, i) => {
          const port = await freePort();
          const p = new ServiceProcess({
            name: `aux-trainer-${i + 1}`,
            app: 'aux-trainer',
            env: { REDIS_URL: redisHandle.url, METRICS_PORT: String(port), MODEL_DIR: DEFAULT_BASE_MODEL_DIR },
            healthUrl: `http://127.0.0.1:${port}/healthz`,
            log: () => undefined,
          });
          return p;
        }),
      );
      const t0 = performance.now();
      await Promise.all(procs.map((p) => p.start()));
      const started = performance.now();
      for (;;) {
        const heads = await Promise.all(jobIdsOf.map((j) => auxStore.head(j)));
        if (heads.every((h) => h === TASKS)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const drained = performance.now();
      await Promise.all(procs.map((p) => p.stop()));
      const tasks = JOBS * TASKS;
      throughput.push([
        String(trainers),
        String(tasks),
        ((drained - started) / 1000).toFixed(2),
        (tasks / ((drained - started) / 1000)).toFixed(2),
        ((started - t0) / 1000).toFixed(1),
      ]);
    }
    for (const { x, g } of res.taps.values()) tf.dispose([x, g]);
    await adapt.close();
    table(['trainers', 'fit tasks', 'drain s', 'fit tasks/s', 'start-up s (excluded)'], throughput);

    // 1 (distributed): the same job through gpu-host + 2 aux-trainers + merger processes.
    const distributed = await distributedRun(redisHandle.url);
    table(
      ['setup', 'host tokens/s'],
      [
        ['single-process ColA (host step only)', colaTps.toFixed(0)],
        ['in-process LoRA (forward + backward + optimizer)', loraTps.toFixed(0)],
        [`distributed ColA, K = 1 (tokens / wall time of ${distributed.steps} steps)`, distributed.tokensPerSecond.toFixed(0)],
      ],
    );
    set.dispose();
    model.dispose();
  } finally {
    redis.disconnect();
    await redisHandle.stop();
  }
}

/**
 * Runs one demo-configuration job on the real services and returns its tokens per wall-clock
 * second from the first to the last host batch (with K = 1 the host waits for every fit).
 */
async function distributedRun(redisUrl: string): Promise<{ steps: number; tokensPerSecond: number }> {
  const stack = new PipelineStack({ redisUrl, modelDir: DEFAULT_BASE_MODEL_DIR, quiet: true });
  try {
    await stack.startAll(2);
    const rows = loadSpamAssassin().train.slice(0, BATCH * (STEPS + 1));
    const jobId = 'bench-distributed';
    await stack.submit(
      {
        jobId,
        tenantId: 'bench',
        baseModel: 'cola-tiny',
        task: Task.TASK_CLASSIFICATION,
        trainingFileId: 'bench-train',
        validationFileId: 'bench-val',
        labels: ['ham', 'spam'],
        method: {
          aux: { kind: { $case: 'lowrank', value: { rank: 8, scale: 1, dropout: 0 } } },
          targetModules: [],
          merged: false,
          interval: 1,
          staleness: 1,
          transfer: { mode: TransferMode.TRANSFER_MODE_ACTIVATIONS, dtype: DType.DTYPE_FP32 },
          mergeGroup: '',
        },
        hyperparameters: { epochs: 1, batchSize: BATCH, maxLength: MAX_LENGTH, optimizer: undefined, warmupFraction: 0, maxSteps: 0, validationEvery: 0 },
        seed: 0,
      },
      { 'bench-train': toJsonl(rows), 'bench-val': toJsonl(rows.slice(0, BATCH)) },
    );
    let first: { t: number; tokens: number } | undefined;
    let last = { t: 0, tokens: 0, step: 0 };
    for (;;) {
      const p = await stack.jobs.progress(jobId);
      const status = await stack.jobs.status(jobId);
      if (p && p.step >= 1 && !first) first = { t: performance.now(), tokens: p.tokens };
      if (p && p.step > last.step) last = { t: performance.now(), tokens: p.tokens, step: p.step };
      if (status === 'failed' || status === 'cancelled') throw new Error(`distributed bench job ${status}`);
      if (p && p.totalSteps > 0 && p.step >= p.totalSteps) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await stack.waitForFinal(jobId);
    // The first batch is the warm-up (as everywhere in this bench): time from its end.
    return { steps: last.step - 1, tokensPerSecond: ((last.tokens - first!.tokens) / (last.t - first!.t)) * 1000 };
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
