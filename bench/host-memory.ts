// bench:host-memory: where the gpu-host's memory and time go, measured side by side in one run.
//   1. Host-step memory per token for cola-tiny at 128 tokens per row: the peak of the wasm
//      allocator's own byte count (tfjs's profile counts a buffer once per tensor sharing it), for
//      the path before (primitive ops, the backend's copying Identity for saved tensors) and today's
//      (fused frozen-weight ops, shared Identity), in one pass and in row chunks, next to the
//      analytic size of what the backward needs.
//   2. The physical limit: the backend's 2-D matMul GFLOP/s against the host step's achieved GFLOP/s.
//   3. GPT-2-small width (seeded random weights): bytes per token (activations vs gram), step time
//      and peak host memory per token, in row chunks.
//   4. Mixing: N tenants in one mixed host step against N separate steps, and the candidate
//      formulations of a mixed step (bench/support/mixing.ts), on the cola-tiny checkpoint.
// Flags: --mixing-only (section 4 alone), --tenants N (8), --tenant-rows N (8), --tenant-length N (64),
//   --mixing-reps N (5).
// Absolute times depend on the machine and its load; the ratios are measured in the same run.
import { backendMemory, copyIdentityData, fastMatMul, initBackend, shareIdentityData, tf } from '@cola/gl';
import {
  chunkedHostStep,
  initClassificationHead,
  initGptModel,
  loadCheckpoint,
  resolveTaps,
  seededGpt2Small,
  tapShape,
  type GptConfig,
  type GptModel,
  type LmTokenBatch,
} from '@cola/model';
import { DEFAULT_BASE_MODEL_DIR } from '@cola/train';
import { attentionGflops, hostStepGflop, matMulPeakGflops } from './physical-limit';
import { benchMixing } from './support/mixing';
import { numberFlag, hasFlag } from './support/flags';

const COLA_TINY: GptConfig = { vocabSize: 258, nPositions: 128, nEmbd: 128, nLayer: 4, nHead: 4, layerNormEpsilon: 1e-5 };

function batchOf(rows: number, T: number, vocab: number): LmTokenBatch {
  const ids = new Int32Array(rows * T).map((_, i) => (i * 7 + 3) % (vocab - 2));
  return { ids, mask: new Int32Array(rows * T).fill(1), batch: rows, seqLen: T };
}

/**
 * Floats per token the backward of the frozen model really needs (fp32): per layer the two
 * LayerNorms' normalised inputs (2d), q, k, v (3d), the attention probabilities (H·T), the
 * attention context (d), the MLP's pre-activation and output (8d); then the final LayerNorm (d)
 * and the logits (V). Everything else can be recomputed or never kept.
 */
function analyticBytesPerToken(c: GptConfig, T: number): number {
  return 4 * (c.nLayer * (14 * c.nEmbd + c.nHead * T) + c.nEmbd + c.vocabSize);
}

interface StepMeasure {
  peakBytesPerToken: number;
  ms: number;
}

/** The host step's ops: today's fused frozen-weight ops, or the path before (primitives). */
type Ops = 'fused' | 'primitive';

/** Peak bytes per token of one host step: the wasm allocator's high-water mark (tfjs's profile where there is none). */
async function measure(
  model: GptModel,
  rows: number,
  T: number,
  taps: string[],
  maxRows: number,
  ops: Ops = 'fused',
): Promise<StepMeasure> {
  const batch = batchOf(rows, T, model.config.vocabSize);
  const mem = backendMemory();
  mem?.resetPeak();
  const before = mem?.liveBytes ?? tf.memory().numBytes;
  const t0 = performance.now();
  const info = await tf.profile(() => {
    const r = chunkedHostStep(model, batch, { head: 'lm', taps, maxRows, ops });
    for (const { x, g } of r.taps.values()) tf.dispose([x, g]);
  });
  const ms = performance.now() - t0;
  const peak = mem ? mem.peakBytes : info.peakBytes;
  return { peakBytesPerToken: (peak - before) / (rows * T), ms };
}

/** {@link measure} on the path before: primitive ops, and saved tensors copied by the backend's own Identity. */
async function measureBefore(model: GptModel, rows: number, T: number, taps: string[], maxRows: number): Promise<StepMeasure> {
  copyIdentityData(tf.getBackend());
  try {
    return await measure(model, rows, T, taps, maxRows, 'primitive');
  } finally {
    shareIdentityData(tf.getBackend());
  }
}

async function timeStep(
  model: GptModel,
  rows: number,
  T: number,
  taps: string[],
  maxRows: number,
  reps: number,
  ops: Ops = 'fused',
): Promise<number> {
  const batch = batchOf(rows, T, model.config.vocabSize);
  const once = (): void => {
    const r = chunkedHostStep(model, batch, { head: 'lm', taps, maxRows, ops });
    for (const { x, g } of r.taps.values()) tf.dispose([x, g]);
  };
  once();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) once();
  return (performance.now() - t0) / reps;
}

const kb = (b: number): string => `${(b / 1000).toFixed(1)} kB`;

async function main(): Promise<void> {
  await initBackend({ log: null });
  console.log(
    `bench:host-memory on backend ${tf.getBackend()} (machine shared with other work: absolute times are busy-machine figures)\n`,
  );
  if (hasFlag('mixing-only')) return mixing();

  // 1. cola-tiny memory per token.
  const T = 128;
  const tiny = initGptModel(COLA_TINY, { seed: 1 });
  const taps = resolveTaps(tiny.config, ['c_attn']);
  const rows = Number(process.env.BENCH_ROWS ?? 8);
  const before = await measureBefore(tiny, rows, T, taps, rows);
  const beforeChunked = await measureBefore(tiny, rows, T, taps, 2);
  const onePass = await measure(tiny, rows, T, taps, rows);
  const chunked = await measure(tiny, rows, T, taps, 2);
  const analytic = analyticBytesPerToken(COLA_TINY, T);
  console.log(`cola-tiny, ${rows} x ${T} tokens, host step to c_attn (peak of the wasm allocator's byte count, per token of the batch):`);
  console.log('| run | peak bytes per token of the batch | per token of one pass or chunk | vs analytic minimum | ms (busy machine) |');
  console.log('|---|---|---|---|---|');
  const row = (name: string, m: StepMeasure, passRows: number): void => {
    const perPassToken = (m.peakBytesPerToken * rows) / passRows;
    console.log(
      `| ${name} | ${kb(m.peakBytesPerToken)} | ${kb(perPassToken)} | ${(perPassToken / analytic).toFixed(1)}x | ${m.ms.toFixed(0)} |`,
    );
  };
  row('before: primitive ops, copied saved tensors, one pass', before, rows);
  row('before, chunks of 2 rows', beforeChunked, 2);
  row('today: fused frozen-weight ops, one pass', onePass, rows);
  row('today, chunks of 2 rows', chunked, 2);
  console.log(`| analytic minimum the backward needs | | ${kb(analytic)} | 1.0x | |`);
  console.log(
    `peak memory per token, today / before: one pass ${(onePass.peakBytesPerToken / before.peakBytesPerToken).toFixed(3)}, ` +
      `chunks of 2 rows ${(chunked.peakBytesPerToken / beforeChunked.peakBytesPerToken).toFixed(3)}\n`,
  );

  // Time per token (after a warm-up each, so the heap has grown already).
  const oneMs = await timeStep(tiny, rows, T, taps, rows, 2);
  const chunkMs = await timeStep(tiny, rows, T, taps, 2, 2);
  const primitiveMs = await timeStep(tiny, rows, T, taps, rows, 2, 'primitive');
  const tps = (ms: number): string => ((rows * T * 1000) / ms).toFixed(0);
  console.log(
    `tokens/s (busy machine): primitive ops ${tps(primitiveMs)}, fused one pass ${tps(oneMs)}, fused chunks of 2 rows ${tps(chunkMs)}; ` +
      `fused / primitive ${(primitiveMs / oneMs).toFixed(3)}, chunked / one pass ${(oneMs / chunkMs).toFixed(3)}\n`,
  );

  // 2. Physical limit.
  const peak = matMulPeakGflops(fastMatMul);
  const stepMs = oneMs;
  const flop = hostStepGflop(COLA_TINY, rows, T);
  const achieved = flop / (stepMs / 1000);
  console.log('physical limit (FLOPs of a host step = 2 x forward: per token 2·L·(12d² + 2·T·d) + 2·d·V forward,');
  console.log('the backward to the hidden states costing about as much again, no weight gradients):');
  console.log(
    `  2-D matMul peak ${peak.toFixed(1)} GFLOP/s; host step ${achieved.toFixed(1)} GFLOP/s (${stepMs.toFixed(0)} ms for ${rows} x ${T});`,
  );
  console.log(`  ratio host step / peak: ${(achieved / peak).toFixed(3)}`);
  // Attention's share of the rate: its products are batched (rank-3) matMuls.
  const hd = COLA_TINY.nEmbd / COLA_TINY.nHead;
  const att = attentionGflops(fastMatMul, 2 * COLA_TINY.nHead, T, hd);
  console.log(`  attention, ${2 * COLA_TINY.nHead} heads of ${T} x ${hd} (useful FLOPs 2·T²·hd per product and head):`);
  console.log(
    `    batched Q·Kᵀ ${att.batchedScores.toFixed(1)} GFLOP/s (${(att.batchedScores / peak).toFixed(3)} of peak), ` +
      `batched P·V ${att.batchedWeighted.toFixed(1)} (${(att.batchedWeighted / peak).toFixed(3)}), ` +
      `all heads in one 2-D Q·Kᵀ ${att.stacked2dScores.toFixed(1)} useful (${(att.stacked2dScores / peak).toFixed(3)}; it computes ${2 * COLA_TINY.nHead}x the FLOPs)\n`,
  );
  tiny.dispose();

  // 3. GPT-2-small width.
  const gpt2 = seededGpt2Small(7, T);
  const gTaps = resolveTaps(gpt2.config, ['c_attn']);
  const g = await measure(gpt2, 2, T, gTaps, 1);
  const actBytes = gTaps.reduce((n, t) => n + 4 * (tapShape(gpt2.config, t).dIn + tapShape(gpt2.config, t).dOut), 0);
  const gramBytes = gTaps.reduce((n, t) => n + 4 * (tapShape(gpt2.config, t).dIn * tapShape(gpt2.config, t).dOut), 0);
  console.log(`GPT-2-small width (d=768, 12 layers, 12 heads, T=${T}, seeded random weights), c_attn taps, 2 rows in chunks of 1:`);
  console.log(`  host step ${g.ms.toFixed(0)} ms for ${2 * T} tokens; peak host tensor memory ${kb(g.peakBytesPerToken)}/token`);
  console.log(`  (analytic minimum ${kb(analyticBytesPerToken(gpt2.config, T))}/token)`);
  console.log(`  transfer: activations ${kb(actBytes)}/token; gram ${(gramBytes / 1e6).toFixed(1)} MB per fit task`);
  console.log(`  gram pays from ${Math.ceil(gramBytes / actBytes)} tokens per fit task`);
  gpt2.dispose();
  console.log('');
  await mixing();
}

/** 4. Mixing, on the cola-tiny checkpoint with a SpamAssassin head. */
async function mixing(): Promise<void> {
  const model = await loadCheckpoint(DEFAULT_BASE_MODEL_DIR);
  initClassificationHead(model, 2, { seed: 1 });
  await benchMixing(model, {
    tenants: numberFlag('tenants', 8),
    rows: numberFlag('tenant-rows', 8),
    seqLen: numberFlag('tenant-length', 64),
    reps: numberFlag('mixing-reps', 5),
  });
  model.dispose();
}

void main();
