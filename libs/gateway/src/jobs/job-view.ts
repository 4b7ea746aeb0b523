import { validateJobSpec, type JobEval, type JobEventEntry, type JobProgress, type JobRecord } from '@cola/pipeline';
import { unixSeconds } from '../common/ids';
import type { JobCheckpointDto, JobDto, JobEventDto } from './dto/job.dto';

/** The fine-tuned model name of a job: `ft:<base>:<tenant>:<job>` (OpenAI's shape, what the merger serves). */
export function fineTunedModelName(spec: { baseModel: string; tenantId: string; jobId: string }): string {
  return `ft:${spec.baseModel}:${spec.tenantId}:${spec.jobId}`;
}

/** Public id of an event: the stream id with a kind prefix, so it reads like OpenAI's ids. */
export const EVENT_ID_PREFIX = 'ftevent-';
/** Public id of a checkpoint: its step. */
export const CHECKPOINT_ID_PREFIX = 'ftckpt-';

/** The largest half of a Redis stream id (both halves are unsigned 64-bit). */
const MAX_U64 = 2n ** 64n - 1n;

/** The stream id of a public event id, or undefined when it is not one. */
export function streamIdOf(eventId: string): string | undefined {
  const m = /^ftevent-(\d{1,20})-(\d{1,20})$/.exec(eventId);
  // Both halves of a Redis stream id are unsigned 64-bit: a larger one is not an id, and Redis
  // would refuse it ("Invalid stream ID") instead of answering an empty page.
  if (!m || BigInt(m[1]!) > MAX_U64 || BigInt(m[2]!) > MAX_U64) return undefined;
  return `${m[1]}-${m[2]}`;
}

/** The step of a public checkpoint id, or undefined. */
export function checkpointStepOf(checkpointId: string): number | undefined {
  const m = /^ftckpt-(\d{1,15})$/.exec(checkpointId);
  return m ? Number(m[1]) : undefined;
}

/**
 * A job record as the API shows it. Values chosen from the data (epochs, batch size, learning
 * rate, max_length, max_windows) read `auto` until the gpu-host opens the job and resolves them,
 * then the values the job runs with; the others are resolved by the pipeline's validation of the
 * stored spec, the single source of those defaults.
 */
export function jobView(rec: JobRecord, progress: JobProgress | null, result: JobEval | null): JobDto {
  const spec = rec.spec;
  const v = validateJobSpec(spec);
  const o = v.options;
  const r = rec.resolved;
  const pick = (resolved: number | undefined, given: number | undefined): number | 'auto' => resolved ?? given ?? 'auto';
  return {
    object: 'fine_tuning.job',
    id: rec.jobId,
    created_at: unixSeconds(rec.createdAt),
    finished_at: rec.finishedAt === null ? null : unixSeconds(rec.finishedAt),
    model: spec.baseModel,
    fine_tuned_model: rec.status === 'succeeded' ? fineTunedModelName(spec) : null,
    organization_id: spec.tenantId,
    status: rec.status,
    task: v.task,
    training_file: spec.trainingFileId,
    validation_file: spec.validationFileId || null,
    labels: v.task === 'classification' ? [...spec.labels] : null,
    seed: o.seed,
    hyperparameters: {
      n_epochs: pick(r?.epochs, v.given.epochs),
      batch_size: pick(r?.batchSize, v.given.batchSize),
      learning_rate: pick(r?.lr, v.given.lr),
      optimizer: o.optimizer.type,
      weight_decay: o.optimizer.weightDecay,
      max_length: pick(r?.maxLength, v.given.maxLength),
      max_windows: v.task === 'classification' ? pick(r?.maxWindows, v.given.maxWindows) : 1,
      warmup_fraction: o.warmupFraction,
    },
    dropped_token_share: r ? r.droppedShare : null,
    method: {
      type: 'cola',
      aux: { ...o.aux },
      head_aux: { ...o.headAux },
      target_modules: [...o.targetModules],
      merged: o.merged,
      interval: o.interval,
      staleness: v.staleness,
      transfer: { mode: v.transfer.mode, dtype: v.transfer.dtype as 'fp32' | 'fp16' | 'bf16' },
      merge_group: v.mergeGroup || null,
    },
    error: rec.error,
    trained_tokens: progress ? progress.tokens : null,
    progress: progress
      ? {
          step: progress.step,
          total_steps: progress.totalSteps,
          epoch: progress.epoch,
          loss: progress.loss,
          tokens: progress.tokens,
          bytes_transferred: progress.bytes,
          aux_version: progress.auxVersion,
          fit_tasks: progress.seq,
        }
      : null,
    result: result ? { metric: result.metric, before: result.before ?? null, value: result.value, count: result.count } : null,
    estimated_finish: null,
    result_files: [],
  };
}

/** One event as the API shows it. */
export function eventView(e: JobEventEntry): JobEventDto {
  const data = e.metrics && Object.keys(e.metrics).length > 0 ? { ...e.metrics } : null;
  return {
    object: 'fine_tuning.job.event',
    id: `${EVENT_ID_PREFIX}${e.id}`,
    created_at: unixSeconds(e.createdAt),
    level: e.level,
    message: e.message,
    type: data ? 'metrics' : 'message',
    data,
  };
}

/** One checkpoint as the API shows it. */
export function checkpointView(spec: { baseModel: string; tenantId: string; jobId: string }, step: number): JobCheckpointDto {
  return {
    object: 'fine_tuning.job.checkpoint',
    id: `${CHECKPOINT_ID_PREFIX}${step}`,
    // The pipeline records checkpoints by step only (keys.jobCheckpoints scores are steps).
    created_at: null,
    fine_tuned_model_checkpoint: `${fineTunedModelName(spec)}:ckpt-step-${step}`,
    step_number: step,
    metrics: {},
    fine_tuning_job_id: spec.jobId,
  };
}
