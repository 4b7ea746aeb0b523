/**
 * One SpamAssassin job through the real services (gpu-host, aux-trainers, merger as processes on
 * one Redis): host tokens/s from its progress, its final accuracy, the transfer the host chose,
 * and the communication overhead from the services' /metrics with the platform's one definition.
 */
import { PipelineStack } from '@cola/devstack';
import { toJsonl, type ClassificationRow } from '@cola/data';
import { overheadPercent, scrapeStageSeconds, type StageSeconds } from '@cola/metrics';
import { DType, Task, TransferMode, type JobSpec } from '@cola/proto';
import { DEFAULT_BASE_MODEL_DIR } from '@cola/train';

/** What a distributed run measured. */
export interface DistributedRun {
  /** Host batches timed (the first is warm-up). */
  steps: number;
  /** Real tokens per wall second from the end of the first batch to the last. */
  tokensPerSecond: number;
  /** Final validation accuracy of the job. */
  accuracy: number;
  /** The transfer event of the job (which encoding auto chose, and why). */
  transfer: string;
  /** Stage seconds summed over services during the run, and the overhead ratio in %. */
  stages: StageSeconds;
  overheadPercent: number;
}

/** Options of {@link runDistributed}. */
export interface DistributedOptions {
  staleness: number;
  batch: number;
  maxLength: number;
  train: readonly ClassificationRow[];
  validation: readonly ClassificationRow[];
  /** 'auto' (default) or a fixed mode. */
  mode?: 'auto' | 'activations' | 'gram';
  trainers?: number;
  seed?: number;
  lr?: number;
}

export function jobSpecFor(jobId: string, o: DistributedOptions): JobSpec {
  const mode =
    o.mode === 'gram'
      ? TransferMode.TRANSFER_MODE_GRAM
      : o.mode === 'activations'
        ? TransferMode.TRANSFER_MODE_ACTIVATIONS
        : TransferMode.TRANSFER_MODE_UNSPECIFIED;
  return {
    jobId,
    tenantId: `tenant-${jobId}`,
    baseModel: 'cola-tiny',
    task: Task.TASK_CLASSIFICATION,
    trainingFileId: `${jobId}-train`,
    validationFileId: `${jobId}-val`,
    labels: ['ham', 'spam'],
    method: {
      aux: { kind: { $case: 'lowrank', value: { rank: 8, scale: 1, dropout: 0 } } },
      targetModules: [],
      merged: false,
      interval: 1,
      staleness: o.staleness,
      transfer: { mode, dtype: DType.DTYPE_FP32 },
      mergeGroup: '',
    },
    hyperparameters: {
      epochs: 1,
      batchSize: o.batch,
      maxLength: o.maxLength,
      optimizer: o.lr ? { kind: { $case: 'adamw', value: { lr: o.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 } } } : undefined,
      warmupFraction: 0,
      maxSteps: 0,
      validationEvery: 0,
      // One window per e-mail: the bench measures the transfer of plain max_length batches.
      maxWindows: 1,
    },
    seed: o.seed ?? 0,
  };
}

/** Runs `start`, printing every 15 s how long it has waited and which services answer /healthz. */
async function withProgress(what: string, stack: PipelineStack, start: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  const timer = setInterval(() => {
    void Promise.all(
      [...stack.services.values()].map(async (s) => {
        const ok = await fetch(s.opts.healthUrl ?? '', { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.ok,
          () => false,
        );
        return `${s.opts.name} ${ok ? 'healthy' : 'starting'}`;
      }),
    ).then((states) => console.log(`  ${what}: ${((performance.now() - t0) / 1000).toFixed(0)} s (${states.join(', ')})`));
  }, 15_000);
  try {
    await start();
  } finally {
    clearInterval(timer);
  }
}

export async function runDistributed(redisUrl: string, jobId: string, o: DistributedOptions): Promise<DistributedRun> {
  // A loaded machine can take minutes to start four tfjs processes: wait long, and say how long.
  const stack = new PipelineStack({ redisUrl, modelDir: DEFAULT_BASE_MODEL_DIR, quiet: true, startTimeoutMs: 900_000 });
  try {
    await withProgress(`starting the services for ${jobId}`, stack, () => stack.startAll(o.trainers ?? 2));
    const urls = [...stack.services.values()].map((s) => (s.opts.healthUrl ?? '').replace(/\/healthz$/, '/metrics'));
    const before = await scrapeStageSeconds(urls);
    await stack.submit(jobSpecFor(jobId, o), { [`${jobId}-train`]: toJsonl(o.train), [`${jobId}-val`]: toJsonl(o.validation) });
    let first: { t: number; tokens: number } | undefined;
    let last = { t: 0, tokens: 0, step: 0 };
    for (;;) {
      const p = await stack.jobs.progress(jobId);
      const status = await stack.jobs.status(jobId);
      if (p && p.step >= 1 && !first) first = { t: performance.now(), tokens: p.tokens };
      if (p && p.step > last.step) last = { t: performance.now(), tokens: p.tokens, step: p.step };
      if (status === 'failed' || status === 'cancelled') throw new Error(`distributed bench job ${jobId} ${status}`);
      if (p && p.totalSteps > 0 && p.step >= p.totalSteps) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const status = await stack.waitForFinal(jobId, 1_800_000);
    if (status !== 'succeeded') throw new Error(`distributed bench job ${jobId} ended ${status}`);
    const after = await scrapeStageSeconds(urls);
    const result = await stack.jobs.eval(jobId);
    const events = await stack.jobs.events(jobId);
    const zero: StageSeconds = { encode: 0, write: 0, queueWait: 0, decode: 0, hostStep: 0 };
    const b = before ?? zero;
    const a = after ?? zero;
    const stages = Object.fromEntries(
      Object.keys(zero).map((k) => [k, a[k as keyof StageSeconds] - b[k as keyof StageSeconds]]),
    ) as unknown as StageSeconds;
    return {
      steps: last.step - 1,
      tokensPerSecond: first && last.t > first.t ? ((last.tokens - first.tokens) / (last.t - first.t)) * 1000 : 0,
      accuracy: result?.value ?? NaN,
      transfer: events.find((e) => e.message.startsWith('Transfer:'))?.message ?? '(no transfer event)',
      stages,
      overheadPercent: overheadPercent(b, a),
    };
  } finally {
    await stack.stop();
  }
}
