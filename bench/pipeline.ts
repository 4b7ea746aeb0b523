/**
 * `npm run bench:pipeline`: the communication side of ColA, measured side by side in one run on
 * the demo configuration (cola-tiny, SpamAssassin, lowrank r=8 on c_attn + linear head).
 *
 *  1. host tokens/s: single-process ColA (host step only) and in-process LoRA (whole step);
 *  2. bytes per fit step and per token for each transfer mode and dtype, with the encode, write and
 *     decode stages (wait is 0 in process: no queue), and the communication overhead with the
 *     platform's one definition, (encode + write + queue wait + decode) / host step time;
 *  3. gram bytes per step at several batch sizes (they do not depend on the batch);
 *  4. aux-trainer throughput (fit tasks/s) with 1 and with 2 trainer processes;
 *  5. payload encode/decode time per MB: the path before zero-copy payloads vs today's;
 *  6. bounded staleness K = 1, 2, 4 on the real services (transfer auto): host tokens/s and the
 *     final SpamAssassin accuracy, against in-process LoRA on the same rows, and the overhead from
 *     the services' /metrics (encode, write, wait and decode columns);
 *  7. GPT-2-small width (seeded random weights): bytes per token, host step, peak memory per token;
 *  8. the backend's 2-D matMul GFLOP/s against the host step's (FLOP formula in physical-limit.ts).
 *
 * Flags: --steps N (host batches per measurement, default 8), --batch N (32), --max-length N (96),
 *   --k-steps N (batches of each K run, 24), --k-batch N (16), --k-length N (64), --val N (200),
 *   --gpt-batch N (2), --gpt-length N (128), --skip-k, --skip-gpt, --skip-throughput
 */
import { cpus } from 'node:os';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AdapterSet, fastMatMul, initBackend, tf, type AdaptationData } from '@cola/gl';
import { hostStep, initClassificationHead, loadCheckpoint, resolveTaps, tapShape, type GptModel } from '@cola/model';
import { keys, QUEUES, queueOptions, TTLS, jobIds } from '@cola/config';
import { TensorStore, AuxStateStore } from '@cola/store';
import { encodeAdaptation, encodeJobAuxState, type TransferSpec } from '@cola/pipeline';
import { startRedis, ServiceProcess, freePort } from '@cola/testing';
import { toJsonl, loadSpamAssassin } from '@cola/data';
import { BackpropStepper, DEFAULT_BASE_MODEL_DIR, finetune, spamTask, validateFinetuneOptions, type TaskBatch } from '@cola/train';
import { LinearSchedule } from '@cola/gl';
import { buildJobTaskData, decodeAdaptation, validateJobSpec } from '@cola/pipeline';
import { parseJsonl } from '@cola/data';
import { benchCodec } from './support/codec-bench';
import { jobSpecFor, runDistributed, type DistributedRun } from './support/distributed';
import { hostStepGflop, matMulPeakGflops } from './physical-limit';
import { measureGpt2Width } from './support/gpt2-width';
import { n0, table } from './support/table';
import { numberFlag, hasFlag } from './support/flags';

const STEPS = numberFlag('steps', 8);
const BATCH = numberFlag('batch', 32);
const MAX_LENGTH = numberFlag('max-length', 96);
const K_STEPS = numberFlag('k-steps', 24);
const K_BATCH = numberFlag('k-batch', 16);
const K_LENGTH = numberFlag('k-length', 64);
const VAL = numberFlag('val', 200);
const GPT_BATCH = numberFlag('gpt-batch', 2);
const GPT_LENGTH = numberFlag('gpt-length', 128);
const TRANSFERS: TransferSpec[] = (['activations', 'gram'] as const).flatMap((mode) =>
  (['fp32', 'fp16', 'bf16'] as const).map((dtype) => ({ mode, dtype })),
);

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
    const perTransfer = new Map<string, { encodeMs: number; writeMs: number; decodeMs: number; bytes: number }>();
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
        const ref = await payloads.put(keys.payload('bench', i), bytes, TTLS.payloadSeconds);
        const e2 = performance.now();
        // Decode as the aux-trainer does: read (one checksum) and decode into backend tensors.
        const read = await payloads.read(ref.key, ref.sha256);
        const task = {
          jobId: 'bench',
          tenantId: 'bench',
          seq: i,
          auxVersion: i,
          payload: { key: ref.key, byteSize: ref.size, sha256: ref.sha256 },
        };
        const decoded = decodeAdaptation(read.data, task, read.sha256);
        const e3 = performance.now();
        for (const d of decoded.layers.values()) tf.dispose(d.kind === 'raw' ? [d.x, d.g] : [d.xtg, d.colsumG]);
        if (i === 0) continue; // warm-up
        const k = `${t.mode}/${t.dtype}`;
        const acc = perTransfer.get(k) ?? { encodeMs: 0, writeMs: 0, decodeMs: 0, bytes: 0 };
        perTransfer.set(k, {
          encodeMs: acc.encodeMs + (e1 - e0),
          writeMs: acc.writeMs + (e2 - e1),
          decodeMs: acc.decodeMs + (e3 - e2),
          bytes: acc.bytes + bytes.byteLength,
        });
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

    table(
      ['setup', 'host tokens/s'],
      [
        ['single-process ColA (host step only)', colaTps.toFixed(0)],
        ['in-process LoRA (forward + backward + optimizer)', loraTps.toFixed(0)],
      ],
    );
    const avgTokens = hostTokens / STEPS;
    const hostStepMs = hostMs / STEPS;
    const rows = [...perTransfer].map(([k, v]) => {
      const encode = v.encodeMs / STEPS;
      const write = v.writeMs / STEPS;
      const decode = v.decodeMs / STEPS;
      return [
        k,
        Math.round(v.bytes / STEPS).toLocaleString('en-US'),
        (v.bytes / STEPS / avgTokens).toFixed(1),
        encode.toFixed(1),
        write.toFixed(1),
        '0 (in process)',
        decode.toFixed(1),
        `${((100 * (encode + write + decode)) / hostStepMs).toFixed(1)}%`,
      ];
    });
    console.log(`host step: ${hostStepMs.toFixed(1)} ms for ${avgTokens.toFixed(0)} tokens`);
    console.log(
      'overhead = (encode + write + queue wait + decode) / host step time (the one definition; encode includes X^T G in gram mode)',
    );
    table(['transfer', 'bytes/step', 'bytes/token', 'encode ms', 'write ms', 'wait ms', 'decode ms', 'overhead'], rows);

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

    if (!hasFlag('skip-throughput')) {
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
    }

    // 5: payload encode/decode per MB, the path before zero-copy payloads vs today's, same payload.
    {
      const b = batches[1]!;
      const res = hostStep(model, b, { head: 'cls', labels: b.labels, taps: set.taps, inject: set.inject });
      const layers = new Map<string, AdaptationData>([...res.taps].map(([tap, { x, g }]) => [tap, { kind: 'raw', x, g }]));
      const c = await benchCodec(redis, layers, 6);
      for (const { x, g } of res.taps.values()) tf.dispose([x, g]);
      console.log(`payload codec, fp32 activations of ${c.mb.toFixed(1)} MB, through Redis (ms per MB; decode includes the read)`);
      table(
        ['stage', 'before zero-copy', 'today', 'before / today'],
        [
          ['encode (incl. frame)', c.legacyEncode.toFixed(2), c.encode.toFixed(2), `${(c.legacyEncode / c.encode).toFixed(2)}x`],
          ['read + decode', c.legacyDecode.toFixed(2), c.decode.toFixed(2), `${(c.legacyDecode / c.decode).toFixed(2)}x`],
        ],
      );
    }

    // 8 (first, on a quiet backend): the 2-D matMul rate against the host step's achieved rate.
    const peakGflops = matMulPeakGflops(fastMatMul, 1024, 768, 768);
    const tinyGflops = hostStepGflop(model.config, BATCH, MAX_LENGTH) / (hostStepMs / 1000);

    // 6: bounded staleness on the real services, transfer auto, against in-process LoRA.
    if (!hasFlag('skip-k')) {
      const spam = loadSpamAssassin();
      const train = spam.train.slice(0, K_BATCH * K_STEPS);
      const validation = spam.test.slice(0, VAL);
      const kRuns: [number, DistributedRun][] = [];
      for (const k of [1, 2, 4])
        kRuns.push([
          k,
          await runDistributed(redisHandle.url, `bench-k${k}`, { staleness: k, batch: K_BATCH, maxLength: K_LENGTH, train, validation }),
        ]);
      // LoRA: the same job options and rows, in process.
      const v = validateJobSpec(jobSpecFor('bench-lora', { staleness: 1, batch: K_BATCH, maxLength: K_LENGTH, train, validation }));
      const data = buildJobTaskData(v, parseJsonl(toJsonl(train)), parseJsonl(toJsonl(validation)));
      const loraModel = await loadCheckpoint(DEFAULT_BASE_MODEL_DIR);
      // merged and interval are ColA's alone: LoRA takes the rest of the job's options.
      const { merged: _merged, interval: _interval, ...shared } = v.options;
      const lora = await finetune(loraModel, data, { ...shared, method: 'lora' }, { quiet: true });
      lora.adapters.dispose();
      loraModel.dispose();
      const loraAcc = lora.after?.value ?? NaN;
      console.log(
        `bounded staleness on the services (gpu-host + 2 aux-trainers + merger), SpamAssassin ${train.length} rows, batch ${K_BATCH} x ${K_LENGTH}, lowrank r=8 + linear head, transfer auto`,
      );
      console.log(`transfer chosen: ${kRuns[0]![1].transfer}`);
      table(
        [
          'run',
          'host tok/s',
          'vs LoRA',
          'vs bare host step',
          'accuracy',
          'vs LoRA (points)',
          'encode s',
          'write s',
          'wait s',
          'decode s',
          'host s',
          'overhead',
        ],
        [
          ...kRuns.map(([k, r]) => [
            `ColA K=${k}`,
            n0(r.tokensPerSecond),
            `${(r.tokensPerSecond / lora.hostTokensPerSecond).toFixed(2)}x`,
            `${(r.tokensPerSecond / colaTps).toFixed(2)}`,
            `${(100 * r.accuracy).toFixed(1)}%`,
            (100 * (r.accuracy - loraAcc)).toFixed(1),
            r.stages.encode.toFixed(2),
            r.stages.write.toFixed(2),
            r.stages.queueWait.toFixed(2),
            r.stages.decode.toFixed(2),
            r.stages.hostStep.toFixed(2),
            `${r.overheadPercent.toFixed(1)}%`,
          ]),
          ['LoRA in process', n0(lora.hostTokensPerSecond), '1.00x', '', `${(100 * loraAcc).toFixed(1)}%`, '0.0', '', '', '', '', '', ''],
        ],
      );
      console.log(
        `bare host step (single-process, batch ${BATCH} x ${MAX_LENGTH}): ${n0(colaTps)} tok/s; host tok/s = real tokens per wall second of the job's batches after the first`,
      );
      console.log('');
    }

    // 7: GPT-2-small width.
    let width: Awaited<ReturnType<typeof measureGpt2Width>> | undefined;
    if (!hasFlag('skip-gpt')) {
      try {
        width = await measureGpt2Width(GPT_BATCH, GPT_LENGTH, 2);
        console.log(
          `GPT-2-small width (d 768, 12 layers, 12 heads, seeded random weights), batch ${width.batch} x ${width.seqLen}, lowrank r=8 on c_attn + head`,
        );
        table(
          [
            'activations B/token',
            'gram B/token',
            'auto picks (I = 1)',
            'host step ms',
            'host tok/s',
            'peak backend B/token',
            'process RSS MB',
          ],
          [
            [
              n0(width.activationsBytesPerToken),
              n0(width.gramBytesPerToken),
              width.autoChoice,
              width.hostStepMs.toFixed(0),
              n0((width.tokens / width.hostStepMs) * 1000),
              n0(width.peakBytesPerToken),
              n0(width.rssMb),
            ],
          ],
        );
      } catch (e) {
        console.log(`GPT-2-small width: could not run (${(e as Error).message})\n`);
      }
    }

    console.log(
      'FLOP/s (bench/physical-limit.ts): host step = 2 x forward, forward per token 2·L·(12·d² + 2·S·d) + 2·d·V (the four linear maps, QKᵀ and PV, the tied head); the backward to the hidden states costs about one forward again',
    );
    table(
      ['setup', 'GFLOP/s', '/ 2-D matMul peak'],
      [
        ['2-D matMul [1024x768]x[768x768]', peakGflops.toFixed(1), '1.00'],
        [`host step cola-tiny, ${BATCH} x ${MAX_LENGTH}`, tinyGflops.toFixed(1), (tinyGflops / peakGflops).toFixed(2)],
        ...(width
          ? [[`host step GPT-2 width, ${width.batch} x ${width.seqLen}`, width.gflops.toFixed(1), (width.gflops / peakGflops).toFixed(2)]]
          : []),
      ],
    );
    set.dispose();
    model.dispose();
  } finally {
    redis.disconnect();
    await redisHandle.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
