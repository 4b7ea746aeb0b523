import { AuxStateStore } from '@cola/store';
import { loadSpamAssassin, toJsonl, type ClassificationRow } from '@cola/data';
import { decodeJobAuxState } from '@cola/pipeline';
import { Task, TransferMode, DType, type AuxConfig as WireAuxConfig, type JobSpec } from '@cola/proto';
import { loadCheckpoint } from '@cola/model';
import { classificationTask, finetune, type FinetuneOptionsInput } from '@cola/train';
import type { Redis } from 'ioredis';

/** A small deterministic SpamAssassin sample, short e-mails so the tiny model runs fast. */
export function spamSample(
  train: number,
  validation: number,
): { train: ClassificationRow[]; validation: ClassificationRow[]; labels: string[] } {
  const s = loadSpamAssassin();
  return { train: s.train.slice(0, train), validation: s.validation.slice(0, validation), labels: ['ham', 'spam'] };
}

/** What differs between the jobs of the pipeline tests. */
export interface TestJob {
  jobId: string;
  tenantId: string;
  aux: WireAuxConfig;
  merged?: boolean;
  interval?: number;
  staleness?: number;
  transfer?: { mode: 'activations' | 'gram'; dtype: 'fp32' | 'fp16' | 'bf16' };
  batchSize: number;
  maxLength: number;
  epochs?: number;
  lr: number;
  seed: number;
  mergeGroup?: string;
}

export const LOWRANK: WireAuxConfig = { kind: { $case: 'lowrank', value: { rank: 4, scale: 1, dropout: 0 } } };
export const MLP: WireAuxConfig = { kind: { $case: 'mlp', value: { hidden: [16], activation: 'relu' } } };

const DTYPES = { fp32: DType.DTYPE_FP32, fp16: DType.DTYPE_FP16, bf16: DType.DTYPE_BF16 } as const;

/** The cola.v1 spec of a test job, with its uploads named after the job. */
export function jobSpec(j: TestJob, labels: string[]): JobSpec {
  return {
    jobId: j.jobId,
    tenantId: j.tenantId,
    baseModel: 'cola-tiny',
    task: Task.TASK_CLASSIFICATION,
    trainingFileId: `${j.jobId}-train`,
    validationFileId: `${j.jobId}-val`,
    labels,
    method: {
      aux: j.aux,
      targetModules: [],
      merged: j.merged ?? false,
      interval: j.interval ?? 1,
      staleness: j.staleness ?? 1,
      transfer: j.transfer
        ? {
            mode: j.transfer.mode === 'gram' ? TransferMode.TRANSFER_MODE_GRAM : TransferMode.TRANSFER_MODE_ACTIVATIONS,
            dtype: DTYPES[j.transfer.dtype],
          }
        : undefined,
      mergeGroup: j.mergeGroup ?? '',
    },
    hyperparameters: {
      epochs: j.epochs ?? 1,
      batchSize: j.batchSize,
      maxLength: j.maxLength,
      optimizer: { kind: { $case: 'adamw', value: { lr: j.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 5e-4 } } },
      warmupFraction: 0,
      maxSteps: 0,
      validationEvery: 0,
      // Inputs cut at max_length: the fixtures compare with single-process runs of one window.
      maxWindows: 1,
    },
    seed: j.seed,
  };
}

/** The uploads of a test job. */
export function jobFiles(j: TestJob, data: { train: ClassificationRow[]; validation: ClassificationRow[] }): Record<string, string> {
  return { [`${j.jobId}-train`]: toJsonl(data.train), [`${j.jobId}-val`]: toJsonl(data.validation) };
}

/** Final aux parameters of a job, read from the store (what the trainers committed last). */
export async function finalParams(redis: Redis, jobId: string): Promise<{ version: number; values: Map<string, Float32Array> }> {
  const head = await new AuxStateStore(redis).loadHead(jobId);
  if (!head) throw new Error(`job ${jobId} has no aux state`);
  const state = decodeJobAuxState(head.bytes, { paramsOnly: true });
  const values = await state.adapters.values();
  state.adapters.dispose();
  return { version: head.version, values };
}

/** The single-process ColA run of the same job: the reference the distributed run must equal. */
export async function referenceParams(
  modelDir: string,
  j: TestJob,
  data: { train: ClassificationRow[]; validation: ClassificationRow[]; labels: string[] },
): Promise<Map<string, Float32Array>> {
  const model = await loadCheckpoint(modelDir);
  const task = classificationTask('reference', data.train, data.validation, data.labels);
  const k = j.aux.kind!;
  const aux =
    k.$case === 'lowrank'
      ? { type: 'lowrank', ...k.value }
      : k.$case === 'linear'
        ? { type: 'linear', ...k.value }
        : { type: 'mlp', hidden: k.value.hidden, activation: k.value.activation };
  const opts: Omit<FinetuneOptionsInput, 'task'> = {
    method: 'cola',
    aux,
    merged: j.merged ?? false,
    interval: j.interval ?? 1,
    optimizer: { type: 'adamw', lr: j.lr, weightDecay: 5e-4 },
    warmupFraction: 0.05,
    epochs: j.epochs ?? 1,
    batchSize: j.batchSize,
    maxLength: j.maxLength,
    seed: j.seed,
  };
  const r = await finetune(model, task, opts, { quiet: true, skipEvaluation: true });
  const values = await r.adapters.values();
  r.adapters.dispose();
  model.dispose();
  return values;
}

/** ||a - b|| / ||b|| over every parameter; the key sets must match. */
export function relativeError(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  const ka = [...a.keys()].sort();
  const kb = [...b.keys()].sort();
  if (ka.join() !== kb.join()) throw new Error(`parameter names differ: ${ka.join(', ')} vs ${kb.join(', ')}`);
  let num = 0;
  let den = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    for (let i = 0; i < x.length; i++) {
      num += (x[i]! - y[i]!) ** 2;
      den += y[i]! ** 2;
    }
  }
  return Math.sqrt(num) / Math.sqrt(den);
}
