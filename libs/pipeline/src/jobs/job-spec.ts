import { validateFinetuneOptions, FinetuneOptionsError, type AutoGiven, type FinetuneOptions, type FinetuneTask } from '@cola/train';
import { AuxConfigError, OptimizerConfigError } from '@cola/gl';
import { Task, transferModeToName, dtypeToName, type JobSpec } from '@cola/proto';
import { auxConfigFromWire, optimizerConfigFromWire } from '../state/config-wire';
import { TransferSpecError, validateTransferSpec, type TransferRequest } from '../transfer/transfer-spec';

/** A job spec checked and turned into what the services run. */
export interface ValidatedJobSpec {
  spec: JobSpec;
  task: FinetuneTask;
  /** Options of the equivalent single-process ColA run (what the distributed run must equal). */
  options: FinetuneOptions;
  /** The transfer as asked for; the gpu-host resolves `auto` with chooseTransfer once it knows the layer shapes. */
  transfer: TransferRequest;
  /** Bounded staleness K: fit tasks in flight per job. 1 = the paper's synchronous schedule. */
  staleness: number;
  /** Collaborative merge group ('' = the job is served alone). */
  mergeGroup: string;
  /** Validation every this many steps; undefined = the default (see `validationInterval`). */
  validationEvery: number | undefined;
  /** The values the request set explicitly; the others are `auto`, chosen from the data when the job opens. */
  given: AutoGiven;
}

/** Evaluations of the validation file a run gets by default, besides the one before training and the final one. */
export const DEFAULT_VALIDATIONS_PER_RUN = 5;

/** Steps between validations: the job's `validation_every`, else about {@link DEFAULT_VALIDATIONS_PER_RUN} per run. */
export function validationInterval(every: number | undefined, totalBatches: number): number {
  return every ?? Math.max(1, Math.ceil(totalBatches / DEFAULT_VALIDATIONS_PER_RUN));
}

/** A job spec that cannot run; `param` is the offending field in API terms. */
export class JobSpecError extends Error {
  override readonly name = 'JobSpecError';
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_STALENESS = 64;
/** Most windows per classification input a job may ask for (each window costs a forward pass). */
const MAX_WINDOWS = 64;

/** Maps an error of the lower layers to the API field it concerns. */
function reraise(e: unknown): never {
  if (e instanceof JobSpecError) throw e;
  if (e instanceof TransferSpecError) throw new JobSpecError(e.param, e.message);
  if (e instanceof AuxConfigError) throw new JobSpecError(e.field === '(root)' ? 'method.aux' : `method.aux.${e.field}`, e.message);
  if (e instanceof OptimizerConfigError)
    throw new JobSpecError(e.field === '(root)' ? 'hyperparameters.optimizer' : `hyperparameters.optimizer.${e.field}`, e.message);
  if (e instanceof FinetuneOptionsError) {
    const param =
      (
        {
          batchSize: 'hyperparameters.batch_size',
          epochs: 'hyperparameters.epochs',
          maxLength: 'hyperparameters.max_length',
          maxSteps: 'hyperparameters.max_steps',
          interval: 'method.interval',
          targetModules: 'method.target_modules',
          merged: 'method.merged',
          warmupFraction: 'hyperparameters.warmup_fraction',
          seed: 'seed',
        } as Record<string, string>
      )[e.field] ?? e.field;
    throw new JobSpecError(param, e.message);
  }
  throw e;
}

/**
 * Checks a job spec at once (gateway on create, gpu-host on start) and maps it to fine-tuning
 * options. proto3 zero values mean "use the default", like the API's `auto`.
 */
export function validateJobSpec(spec: JobSpec): ValidatedJobSpec {
  try {
    if (!spec.jobId) throw new JobSpecError('job_id', 'job_id is required');
    if (!spec.tenantId) throw new JobSpecError('tenant_id', 'tenant_id is required');
    if (!spec.trainingFileId) throw new JobSpecError('training_file', 'training_file is required');
    const task: FinetuneTask | undefined =
      spec.task === Task.TASK_CLASSIFICATION ? 'classification' : spec.task === Task.TASK_CAUSAL_LM ? 'causal_lm' : undefined;
    if (!task) throw new JobSpecError('task', 'task must be "classification" or "causal_lm"');
    if (task === 'classification' && spec.labels.length < 2)
      throw new JobSpecError('training_file', 'classification needs at least two distinct labels in the training file');
    const m = spec.method;
    const h = spec.hyperparameters;
    const options = validateFinetuneOptions({
      method: 'cola',
      task,
      aux: m?.aux?.kind ? auxConfigFromWire(m.aux) : undefined,
      targetModules: m?.targetModules.length ? m.targetModules : undefined,
      merged: m?.merged ?? false,
      interval: m?.interval || undefined,
      optimizer: h?.optimizer?.kind ? optimizerConfigFromWire(h.optimizer) : undefined,
      warmupFraction: h?.warmupFraction || undefined,
      epochs: h?.epochs || undefined,
      batchSize: h?.batchSize || undefined,
      maxLength: h?.maxLength || undefined,
      maxSteps: h?.maxSteps || undefined,
      seed: spec.seed,
    });
    const given: AutoGiven = {
      lr: h?.optimizer?.kind ? options.optimizer.lr : undefined,
      epochs: h?.epochs || undefined,
      batchSize: h?.batchSize || undefined,
      maxLength: h?.maxLength || undefined,
      maxWindows: h?.maxWindows || undefined,
    };
    if (given.maxWindows !== undefined && given.maxWindows > MAX_WINDOWS)
      throw new JobSpecError('hyperparameters.max_windows', `max_windows must be from 1 to ${MAX_WINDOWS}, got ${given.maxWindows}`);
    const staleness = m?.staleness || 1;
    if (staleness > MAX_STALENESS)
      throw new JobSpecError('method.staleness', `staleness must be from 1 to ${MAX_STALENESS}, got ${staleness}`);
    const auxes = options.targetModules.includes('score') ? [options.aux, options.headAux] : [options.aux];
    const transfer = validateTransferSpec(
      m?.transfer
        ? {
            mode: m.transfer.mode ? transferModeToName(m.transfer.mode) : undefined,
            dtype: m.transfer.dtype ? (dtypeToName(m.transfer.dtype) as TransferRequest['dtype']) : undefined,
          }
        : undefined,
      auxes,
    );
    return {
      spec,
      task,
      options,
      transfer,
      staleness,
      mergeGroup: m?.mergeGroup ?? '',
      validationEvery: h?.validationEvery || undefined,
      given,
    };
  } catch (e) {
    reraise(e);
  }
}
