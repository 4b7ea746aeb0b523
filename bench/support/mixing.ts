// Mixing, measured side by side in one run: N tenants' batches in ONE mixed host step against the
// same batches as N separate host steps, and the candidate formulations of a mixed step:
//   - segments (what the gpu-host runs): each tenant's rows as their own segment of the step;
//   - stacked, split: one forward over every tenant's rows, each tap's input split into the
//     tenants' row ranges (SplitV), each aux applied to its own rows, the outputs concatenated;
//     with the view-reading Slice/SplitV kernels, and with tfjs-wasm's own (which copy the whole
//     input out of the heap once per output);
//   - stacked, gather: the same with one index-tensor gather per tenant.
// Every candidate's X and G per tenant is checked against the tenant's own separate step.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { backendMemory, copySliceKernels, tf, viewSliceKernels } from '@cola/gl';
import { hostStep, SCORE_TAP, type GptModel, type InjectFn, type RowGroup, type TapAdaptation } from '@cola/model';
import { encodeJobAuxState, JobAux, runHostStep, type StepPart } from '@cola/pipeline';
import { createRunAdapters, realTokens, spamTask, validateFinetuneOptions, type TaskBatch } from '@cola/train';

/** Options of {@link benchMixing}. */
export interface MixingBenchOptions {
  tenants: number;
  /** Rows (sequences) of each tenant's batch. */
  rows: number;
  /** Tokens per row. */
  seqLen: number;
  /** Timed repetitions of each candidate (after one warm-up each), interleaved. */
  reps: number;
}

/** One tenant's X and G per tap. */
type TenantTaps = Map<string, TapAdaptation>;

/** A way to run the N tenants' batches; returns each tenant's X and G (the caller disposes them). */
interface Candidate {
  name: string;
  run(model: GptModel, parts: StepPart[]): TenantTaps[];
  /** Swaps kernels in for the run and back after. */
  kernels?: 'copying';
  /** Timed in the first two repetitions only (it takes several times the others' time). */
  slow?: boolean;
}

function stackRows(parts: readonly Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One forward over every tenant's rows; `route` hands each tenant its rows of a tap's input. */
function stacked(route: 'split' | 'gather') {
  return (model: GptModel, parts: StepPart[]): TenantTaps[] => {
    const seqLen = parts[0]!.batch.seqLen;
    const groups: RowGroup[] = [];
    let rows = 0;
    for (const p of parts) {
      groups.push({ start: rows, end: rows + p.batch.batch });
      rows += p.batch.batch;
    }
    const batch: TaskBatch = {
      ids: stackRows(parts.map((p) => p.batch.ids)),
      mask: stackRows(parts.map((p) => p.batch.mask)),
      labels: stackRows(parts.map((p) => p.batch.labels!)),
      batch: rows,
      seqLen,
    };
    const sizes = (tap: string): number[] => groups.map((g) => (g.end - g.start) * (tap === SCORE_TAP ? 1 : seqLen));
    const pieces = (tap: string, x: tf.Tensor2D): tf.Tensor2D[] => {
      const s = sizes(tap);
      if (route === 'split') return tf.split(x, s, 0) as tf.Tensor2D[];
      let at = 0;
      return s.map((n) => {
        const idx = tf.range(at, at + n, 1, 'int32');
        at += n;
        return tf.gather(x, idx) as tf.Tensor2D;
      });
    };
    const inject: InjectFn = (tap, x) => {
      const xs = pieces(tap, x);
      const outs = parts.map((p, k) => (p.taps.includes(tap) ? p.aux.output(tap, xs[k]!) : null));
      const dOut = outs.find((o) => o)?.shape[1];
      if (dOut === undefined) return null;
      return tf.concat(
        outs.map((o, k) => o ?? tf.zeros([xs[k]!.shape[0], dOut])),
        0,
      ) as tf.Tensor2D;
    };
    const taps = [...new Set(parts.flatMap((p) => p.taps))];
    const r = hostStep(model, batch, { head: 'cls', labels: batch.labels, taps, inject, groups });
    const out: TenantTaps[] = parts.map(() => new Map());
    for (const tap of taps) {
      const { x, g } = r.taps.get(tap)!;
      const [xs, gs] = tf.tidy(() => [tf.split(x, sizes(tap), 0), tf.split(g, sizes(tap), 0)] as tf.Tensor2D[][]);
      parts.forEach((p, k) => {
        if (p.taps.includes(tap)) out[k]!.set(tap, { x: xs![k]!, g: gs![k]! });
        else tf.dispose([xs![k]!, gs![k]!]);
      });
      tf.dispose([x, g]);
    }
    return out;
  };
}

const CANDIDATES: Candidate[] = [
  { name: 'separate steps, one per tenant', run: (m, parts) => parts.map((p) => runHostStep(m, [p])[0]!.taps) },
  { name: 'mixed: segments (the gpu-host)', run: (m, parts) => runHostStep(m, parts).map((o) => o.taps) },
  { name: 'mixed: stacked, split per tap', run: stacked('split') },
  { name: 'mixed: stacked, split, tfjs-wasm own Slice/SplitV', run: stacked('split'), kernels: 'copying', slow: true },
  {
    name: 'separate steps, tfjs-wasm own Slice/SplitV',
    run: (m, parts) => parts.map((p) => runHostStep(m, [p])[0]!.taps),
    kernels: 'copying',
  },
  { name: 'mixed: stacked, gather per tap', run: stacked('gather') },
];

function disposeAll(out: TenantTaps[]): void {
  for (const t of out) for (const { x, g } of t.values()) tf.dispose([x, g]);
}

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.div(tf.max(tf.abs(tf.sub(a, b))), tf.add(tf.max(tf.abs(b)), 1e-12)).dataSync()[0]!);
}

/** Runs a candidate under its kernels; separate steps free each tenant's results as a host step's publishing would. */
function runOnce(c: Candidate, model: GptModel, parts: StepPart[], keep: boolean): TenantTaps[] | undefined {
  if (c.kernels === 'copying') copySliceKernels(tf.getBackend());
  try {
    const out = c.run(model, parts);
    if (keep) return out;
    disposeAll(out);
    return undefined;
  } finally {
    if (c.kernels === 'copying') viewSliceKernels(tf.getBackend());
  }
}

/**
 * A full garbage collection before every timed run, so no candidate pays for another's garbage
 * (the copying kernels leave whole-tensor copies in the JS heap). Without it, three runs put the
 * mixed step's segments, which run the same kernels as the separate steps, 20-30% behind them.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Prints the table: tokens/s (median of the repetitions), its ratio to separate steps, peak tensor
 * memory of one run (the wasm allocator's high-water mark above what was live before) and the
 * largest relative difference of any tenant's X or G from its separate step.
 */
export async function benchMixing(model: GptModel, o: MixingBenchOptions): Promise<void> {
  const data = spamTask({ trainSize: o.tenants * o.rows });
  const batches = [...data.train({ batchSize: o.rows, maxLength: o.seqLen, seed: 0, epoch: 0 })].slice(0, o.tenants);
  const parts: StepPart[] = batches.map((batch, k) => {
    const opts = validateFinetuneOptions({ method: 'cola', task: 'classification', aux: { type: 'lowrank', rank: 8 } });
    const adapters = createRunAdapters(model, opts);
    let i = 0;
    // Random aux parameters (fresh ones start as a zero change), a different aux per tenant.
    for (const v of adapters.variables().values()) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.05, 'float32', k * 100 + i++)));
    const bytes = encodeJobAuxState(adapters, { jobId: `t${k}`, version: 1, schedule: { peakLr: 1e-3, totalSteps: 10, warmupSteps: 1 } });
    const taps = adapters.taps;
    adapters.dispose();
    return { batch, aux: JobAux.fromBytes(bytes, { merged: false }), taps };
  });
  const tokens = batches.reduce((n, b) => n + realTokens(b), 0);
  const mem = backendMemory();

  // Exactness and peak memory, one run each; the separate steps' results are the reference.
  const reference = runOnce(CANDIDATES[0]!, model, parts, true)!;
  const checks = CANDIDATES.map((c) => {
    const before = mem?.liveBytes ?? 0;
    mem?.resetPeak();
    let out: TenantTaps[] | undefined;
    try {
      out = runOnce(c, model, parts, true);
    } catch (e) {
      return { error: (e as Error).message.split('\n')[0]!.slice(0, 120) };
    }
    const peak = (mem?.peakBytes ?? 0) - before;
    let diff = 0;
    out!.forEach((t, k) => {
      for (const [tap, { x, g }] of t) {
        const ref = reference[k]!.get(tap)!;
        diff = Math.max(diff, maxRelDiff(x, ref.x), maxRelDiff(g, ref.g));
      }
    });
    disposeAll(out!);
    return { peak, diff };
  });
  disposeAll(reference);

  // Speed: a warm-up each, then the repetitions interleaved (in rotated order) so load changes hit every candidate alike.
  const live = CANDIDATES.filter((_, i) => !('error' in checks[i]!));
  const ms = new Map<Candidate, number[]>(live.map((c) => [c, []]));
  for (const c of live) if (!c.slow) runOnce(c, model, parts, false);
  for (let r = 0; r < o.reps; r++) {
    // Each repetition starts at another candidate: no candidate always runs right after the same one.
    const order = live.map((_, i) => live[(i + r) % live.length]!);
    for (const c of order) {
      if (c.slow && r >= 2) continue;
      collectGarbage();
      const t0 = performance.now();
      runOnce(c, model, parts, false);
      ms.get(c)!.push(performance.now() - t0);
    }
  }
  const separate = median(ms.get(CANDIDATES[0]!)!);
  console.log(
    `mixing: ${o.tenants} tenants x ${o.rows} rows x ${o.seqLen} tokens (${tokens} real tokens), lowrank r=8 on c_attn + linear head, ` +
      `a different random aux per tenant; median of ${o.reps} interleaved repetitions (rotated order) after a warm-up ` +
      `(the slow row: of ${Math.min(2, o.reps)}, after the exactness run; busy shared machine):`,
  );
  console.log('| run | ms per step (median) | tokens/s | ÷ separate steps | peak tensor memory | max rel. diff of X, G vs separate |');
  console.log('|---|---|---|---|---|---|');
  CANDIDATES.forEach((c, i) => {
    const chk = checks[i]!;
    if ('error' in chk) {
      console.log(`| ${c.name} | fails: ${chk.error} | | | | |`);
      return;
    }
    const m = median(ms.get(c)!);
    const mib = mem ? `${(chk.peak / 2 ** 20).toFixed(1)} MiB` : 'n/a';
    console.log(
      `| ${c.name} | ${m.toFixed(0)} | ${((tokens * 1000) / m).toFixed(0)} | ${(separate / m).toFixed(3)} | ${mib} | ${chk.diff.toExponential(1)} |`,
    );
  });
  for (const p of parts) p.aux.dispose();
}
