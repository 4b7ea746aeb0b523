// Shared fixtures of the trainer and merger tests: a tiny job's adapters, its aux state in the
// store and seeded fit-task payloads. Plain code (no test runner, no Redis harness) so both
// folders can use it; nothing in production imports it.
import { keys, TTLS } from '@cola/config';
import { AdapterSet, LinearSchedule, tf, type AdaptationData, type AdaptedLayerSpec, type AuxConfigInput } from '@cola/gl';
import { mulberry32 } from '@cola/data';
import { JobSpec, sha256Hex, Task } from '@cola/proto';
import type { AuxStateStore, TensorStore } from '@cola/store';
import { encodeJobAuxState, type JobAuxMeta } from '../state/job-aux-state';
import { encodeAdaptation } from '../transfer/adaptation-encoder';
import type { TransferSpec } from '../transfer/transfer-spec';
import type { AdaptTaskData } from '../queues/adapt-task-data';

/** Width of the tiny test model's residual stream. */
export const TINY_D = 16;

/**
 * The adapted layers of a tiny 2-layer job: `aux` on both c_attn taps and, for classification,
 * a linear head with bias on `score` (an mlp there too for mlp jobs).
 */
export function tinyLayers(aux: 'lowrank' | 'mlp' = 'lowrank', numLabels: number | null = 2): AdaptedLayerSpec[] {
  const body: AuxConfigInput = aux === 'lowrank' ? { type: 'lowrank', rank: 4, scale: 1 } : { type: 'mlp', hidden: [8] };
  const layers: AdaptedLayerSpec[] = [
    { tap: 'h.0.attn.c_attn', dIn: TINY_D, dOut: 3 * TINY_D, aux: body },
    { tap: 'h.1.attn.c_attn', dIn: TINY_D, dOut: 3 * TINY_D, aux: body },
  ];
  if (numLabels !== null)
    layers.push({ tap: 'score', dIn: TINY_D, dOut: numLabels, aux: aux === 'lowrank' ? { type: 'linear', bias: true } : body });
  return layers;
}

/** A tiny job: its adapters (fresh, seeded) and the meta its aux state carries. */
export interface TinyJob {
  jobId: string;
  tenantId: string;
  task: 'classification' | 'causal_lm';
  layers: AdaptedLayerSpec[];
  meta: JobAuxMeta;
  seed: number;
  mergeGroup: string;
}

/** Options of {@link tinyJob}. */
export interface TinyJobOptions {
  aux?: 'lowrank' | 'mlp';
  task?: 'classification' | 'causal_lm';
  seed?: number;
  tenantId?: string;
  clipNorm?: number;
  mergeGroup?: string;
}

/** A tiny job description; `createAdapters()` builds bit-identical adapters for it every time. */
export function tinyJob(jobId: string, opts: TinyJobOptions = {}): TinyJob {
  const task = opts.task ?? 'classification';
  return {
    jobId,
    tenantId: opts.tenantId ?? 'tenant-a',
    task,
    layers: tinyLayers(opts.aux ?? 'lowrank', task === 'classification' ? 2 : null),
    seed: opts.seed ?? 7,
    mergeGroup: opts.mergeGroup ?? '',
    // A short schedule with warmup, so the lr changes from step to step.
    meta: { jobId, version: 0, schedule: { peakLr: 0.01, totalSteps: 12, warmupSteps: 2 }, clipNorm: opts.clipNorm },
  };
}

/** The base model name the fixtures' job specs name. */
export const TEST_BASE_MODEL = 'cola-test';

/** A job spec for the tiny job, as the gateway would store it (labels ham, spam). */
export function tinyJobSpec(job: TinyJob): JobSpec {
  return JobSpec.fromPartial({
    jobId: job.jobId,
    tenantId: job.tenantId,
    baseModel: TEST_BASE_MODEL,
    task: job.task === 'classification' ? Task.TASK_CLASSIFICATION : Task.TASK_CAUSAL_LM,
    trainingFileId: 'file-train',
    labels: job.task === 'classification' ? ['ham', 'spam'] : [],
    method: { mergeGroup: job.mergeGroup },
    seed: job.seed,
  });
}

/** Fresh adapters of a tiny job (AdamW, seeded): the same for the store and the reference. */
export function createAdapters(job: TinyJob): AdapterSet {
  return AdapterSet.create({
    layers: job.layers,
    optimizer: { type: 'adamw', lr: job.meta.schedule.peakLr, weightDecay: 5e-4 },
    seed: job.seed,
  });
}

/** The job's schedule as the fit step uses it. */
export function scheduleOfJob(job: TinyJob): LinearSchedule {
  return new LinearSchedule({ ...job.meta.schedule });
}

/** Writes the job's version 0 to the store and a `running` job record, as the gateway and gpu-host do. */
export async function initJob(
  job: TinyJob,
  aux: AuxStateStore,
  records?: { create(spec: JobSpec, status: 'running'): Promise<void> },
): Promise<void> {
  const adapters = createAdapters(job);
  try {
    await aux.init(job.jobId, encodeJobAuxState(adapters, job.meta));
  } finally {
    adapters.dispose();
  }
  await records?.create(tinyJobSpec(job), 'running');
}

/** Seeded raw (X, G) for every layer of the job: `rows` rows, values like a real host step's. */
export function fitData(job: TinyJob, seq: number, rows = 6): Map<string, AdaptationData> {
  const rng = mulberry32(job.seed * 1000 + seq + 1);
  const fill = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
  const out = new Map<string, AdaptationData>();
  for (const l of job.layers) {
    out.set(l.tap, {
      kind: 'raw',
      x: tf.tensor2d(fill(rows * l.dIn, 1), [rows, l.dIn]),
      g: tf.tensor2d(fill(rows * l.dOut, 0.05), [rows, l.dOut]),
    });
  }
  return out;
}

/** Disposes a layer map of {@link fitData}. */
export function disposeFitData(data: Map<string, AdaptationData>): void {
  for (const d of data.values()) tf.dispose(d.kind === 'raw' ? [d.x, d.g] : [d.xtg, d.colsumG]);
}

/** Encodes fit task `seq` as the gpu-host does; the data are read, not disposed. */
export function encodeFitTask(
  job: TinyJob,
  seq: number,
  data: Map<string, AdaptationData>,
  transfer: TransferSpec = { mode: 'activations', dtype: 'fp32' },
): Uint8Array {
  return encodeAdaptation(
    { jobId: job.jobId, tenantId: job.tenantId, seq, auxVersion: seq, numBatches: 1, tokens: 6, loss: 0.7 },
    data,
    transfer,
  );
}

/** Stores `bytes` as the payload of task `seq` and returns the task that references them. */
export async function putFitTask(
  job: TinyJob,
  seq: number,
  bytes: Uint8Array,
  payloads: TensorStore,
  stored: Uint8Array = bytes,
): Promise<AdaptTaskData> {
  const ref = await payloads.put(keys.payload(job.jobId, seq), stored, TTLS.payloadSeconds);
  return {
    jobId: job.jobId,
    tenantId: job.tenantId,
    seq,
    auxVersion: seq,
    payloadKey: ref.key,
    size: bytes.byteLength,
    sha256: sha256Hex(bytes),
  };
}

/** Every parameter and optimizer slot of a set, keyed `<tap>/<name>` and `<tap>/slot/<name>`. */
export function snapshotOf(adapters: AdapterSet): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [tap, { adapter, optimizer }] of adapters.layers) {
    for (const [name, v] of adapter.params) out.set(`${tap}/${name}`, v.dataSync() as Float32Array);
    for (const [name, s] of Object.entries(optimizer.exportSlots())) out.set(`${tap}/slot/${name}`, s.values);
    out.set(`${tap}/step`, Float32Array.of(optimizer.stepCount));
  }
  return out;
}
