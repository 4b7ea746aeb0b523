/**
 * The capacity model behind `npm run sim:capacity`: how many aux-trainers, how much Redis
 * bandwidth and memory, and what queue depth N gpu-hosts need, from measured rates.
 *
 * Inputs (measured, see {@link MEASURED}): the host's training throughput and the aux-trainer's
 * fit time per task, both on cola-tiny. Other widths are scaled analytically: host compute by
 * the non-embedding parameter count (12·L·d², the forward/backward FLOPs per token), trainer
 * compute by the multiply-adds of its fit, payload sizes exactly by the transfer formulas of
 * docs/benchmarks.md (checked against the bench's byte counts in tools/capacity/model.test.ts).
 */

/** A model width: transformer layers and hidden size. */
export interface Width {
  readonly name: string;
  readonly layers: number;
  readonly d: number;
}

export const WIDTHS: readonly Width[] = [
  { name: 'cola-tiny', layers: 4, d: 128 },
  { name: 'gpt2-small', layers: 12, d: 768 },
  { name: 'gpt2-medium', layers: 24, d: 1024 },
];

export type TransferMode = 'gram' | 'activations';

/** Measured rates the model starts from. */
export interface Measured {
  /** Where the figures come from (printed with the table). */
  readonly source: string;
  /** gpu-host training throughput on cola-tiny, tokens per second. */
  readonly hostTokensPerSecond: number;
  /** aux-trainer fit tasks per second on cola-tiny, activations fp32, at `tokensPerStep`. */
  readonly trainerTasksPerSecond: number;
  /** Tokens of the host step those two were measured at (batch x length). */
  readonly tokensPerStep: number;
}

/**
 * bench:pipeline on this machine type (2 shared cores, tfjs wasm), as recorded in
 * docs/benchmarks.md: host step 1498 ms for 3072 tokens (2051 tokens/s single-process ColA),
 * one trainer 4.39 fit tasks/s on activations fp32 at batch 32 x 96.
 */
export const MEASURED: Measured = {
  source: 'bench:pipeline, docs/benchmarks.md (2 shared cores, tfjs wasm)',
  hostTokensPerSecond: 2051,
  trainerTasksPerSecond: 4.39,
  tokensPerStep: 3072,
};

/** Scenario knobs (all have defaults; the CLI exposes them as flags). */
export interface Scenario {
  /** Tokens per host step (batch x length). Default 3072 (32 x 96). */
  tokensPerStep: number;
  /** Jobs sharing each host step (mixed batches); each gets its own fit task. Default 4. */
  jobsPerHost: number;
  /** LoRA-style rank of the lowrank aux on c_attn. Default 8. */
  rank: number;
  /** Bytes per element on the wire: 4 fp32, 2 fp16/bf16. Default 4. */
  wireBytes: number;
  /** Staleness bound K: fit tasks a job may have in flight. Default 2. */
  staleness: number;
  /** How much faster a gpu-host is than the measured CPU host (1 = this machine). Default 1. */
  hostSpeedup: number;
  /** Trainer utilization to size for (queueing explodes near 1). Default 0.7. */
  targetUtilization: number;
  /** Fixed seconds per fit task besides compute and decode (state load, commit, queue). Default 0.02. */
  fixedTaskSeconds: number;
}

export const DEFAULT_SCENARIO: Scenario = {
  tokensPerStep: 3072,
  jobsPerHost: 4,
  rank: 8,
  wireBytes: 4,
  staleness: 2,
  hostSpeedup: 1,
  targetUtilization: 0.7,
  fixedTaskSeconds: 0.02,
};

/** c_attn of every layer is adapted: d -> 3d. */
const dIn = (w: Width): number => w.d;
const dOut = (w: Width): number => 3 * w.d;
/** Non-embedding parameters: the per-token FLOPs of forward + backward scale with it. */
const coreParams = (w: Width): number => 12 * w.layers * w.d * w.d;

/** Bytes of one fit task's payload (one job's share of a host step). */
export function payloadBytes(w: Width, mode: TransferMode, s: Scenario): number {
  if (mode === 'gram') return s.wireBytes * w.layers * (dIn(w) * dOut(w) + dOut(w));
  const tokens = s.tokensPerStep / s.jobsPerHost;
  return s.wireBytes * w.layers * tokens * (dIn(w) + dOut(w));
}

/** Multiply-adds of one fit on the trainer: XᵀG (activations only) and the lowrank factor gradients. */
function fitMacs(w: Width, mode: TransferMode, s: Scenario, tokens: number): number {
  const factors = 2 * w.layers * dIn(w) * dOut(w) * s.rank;
  return mode === 'activations' ? w.layers * tokens * dIn(w) * dOut(w) + factors : factors;
}

/** Seconds one trainer spends on one fit task, calibrated on the measured cola-tiny task. */
export function taskSeconds(w: Width, mode: TransferMode, s: Scenario, m: Measured = MEASURED): number {
  const tiny = WIDTHS[0]!;
  const calib = { ...s, tokensPerStep: m.tokensPerStep, jobsPerHost: 1, wireBytes: 4 };
  const measuredCompute = 1 / m.trainerTasksPerSecond - s.fixedTaskSeconds;
  const perMac = measuredCompute / fitMacs(tiny, 'activations', calib, m.tokensPerStep);
  return s.fixedTaskSeconds + perMac * fitMacs(w, mode, s, s.tokensPerStep / s.jobsPerHost);
}

/** Host steps per second of one gpu-host at this width. */
export function hostStepsPerSecond(w: Width, s: Scenario, m: Measured = MEASURED): number {
  const tiny = WIDTHS[0]!;
  const tokensPerSecond = (m.hostTokensPerSecond * s.hostSpeedup * coreParams(tiny)) / coreParams(w);
  return tokensPerSecond / s.tokensPerStep;
}

/** Erlang C: mean number waiting in an M/M/c queue with arrival rate λ and service rate μ. */
export function meanQueueLength(lambda: number, mu: number, c: number): number {
  const a = lambda / mu;
  const rho = a / c;
  if (rho >= 1) return Number.POSITIVE_INFINITY;
  let sum = 0;
  let term = 1;
  for (let k = 0; k < c; k++) {
    if (k > 0) term *= a / k;
    sum += term;
  }
  const last = (term * a) / c / (1 - rho); // a^c / c! / (1 - rho)
  const pWait = last / (sum + last);
  return (pWait * rho) / (1 - rho);
}

/** One row of the capacity table. */
export interface CapacityRow {
  readonly hosts: number;
  readonly width: string;
  readonly mode: TransferMode;
  /** Fit tasks per second all hosts publish. */
  readonly tasksPerSecond: number;
  /** Seconds of trainer time per task. */
  readonly taskSeconds: number;
  readonly trainers: number;
  /** Trainers per gpu-host (trainers / hosts). */
  readonly trainersPerHost: number;
  /** Payload bytes per second through Redis (each payload written once and read once). */
  readonly redisBytesPerSecond: number;
  /** Redis memory for payloads in flight (bounded by K per job) plus two aux versions per job. */
  readonly redisBytes: number;
  /** Mean fit tasks waiting in the adapt queue at that trainer count. */
  readonly queueDepth: number;
}

/** Aux state bytes of one job: lowrank factors + Adam's two slots, fp32, two versions kept. */
function auxStateBytes(w: Width, s: Scenario): number {
  return 2 * 3 * 4 * w.layers * s.rank * (dIn(w) + dOut(w));
}

/** The table row for `hosts` gpu-hosts at `width` with `mode`. */
export function capacity(hosts: number, w: Width, mode: TransferMode, s: Scenario = DEFAULT_SCENARIO, m: Measured = MEASURED): CapacityRow {
  const lambda = hosts * hostStepsPerSecond(w, s, m) * s.jobsPerHost;
  const t = taskSeconds(w, mode, s, m);
  const trainers = Math.max(1, Math.ceil((lambda * t) / s.targetUtilization));
  const bytes = payloadBytes(w, mode, s);
  const jobs = hosts * s.jobsPerHost;
  return {
    hosts,
    width: w.name,
    mode,
    tasksPerSecond: lambda,
    taskSeconds: t,
    trainers,
    trainersPerHost: trainers / hosts,
    redisBytesPerSecond: 2 * lambda * bytes,
    redisBytes: jobs * s.staleness * bytes + jobs * auxStateBytes(w, s),
    queueDepth: Math.min(meanQueueLength(lambda, 1 / t, trainers), jobs * s.staleness),
  };
}
