import { AuxConfigError, isMergeable, OptimizerConfigError, SGD_DEFAULTS, validateAuxConfig, validateOptimizerConfig } from '@cola/gl';
import { BLOCK_TAP_SUFFIXES, SCORE_TAP } from '@cola/model';
import { auxConfigToWire, JobSpecError, optimizerConfigToWire, validateJobSpec, type ValidatedJobSpec } from '@cola/pipeline';
import { DType, dtypeFromName, Task, TransferMode, transferModeFromName, type JobSpec } from '@cola/proto';
import { validateFinetuneOptions } from '@cola/train';
import { ApiError } from '../errors/api-error';
import type { AuxDto, CreateJobDto, HyperparametersDto } from './dto/create-job.dto';

/** What the jobs service resolved before the spec can be built. */
export interface JobSpecContext {
  jobId: string;
  tenantId: string;
  task: 'classification' | 'causal_lm';
  /** Class names in head order (classification), else empty. */
  labels: string[];
  seed: number;
  /** Transformer blocks of the base model when known: a target naming a block beyond them is refused. */
  layers: number | null;
}

/** An invalid job request; `param` is the API field. */
function invalid(param: string, message: string): ApiError {
  return new ApiError(400, 'invalid_job_spec', message, param);
}

/** `auto` (or absent) → undefined. */
const given = <T>(v: T | 'auto' | undefined): T | undefined => (v === 'auto' ? undefined : v);

/** The API field of a pipeline JobSpecError param (the spec speaks cola.v1, the API OpenAI). */
const PARAM_NAMES: Readonly<Record<string, string>> = {
  'hyperparameters.epochs': 'hyperparameters.n_epochs',
  'hyperparameters.optimizer.lr': 'hyperparameters.learning_rate',
  'hyperparameters.optimizer.weightDecay': 'hyperparameters.weight_decay',
  'hyperparameters.optimizer.momentum': 'hyperparameters.momentum',
  job_id: 'id',
  tenant_id: 'organization_id',
};

/**
 * True when `target` selects some tap of a GPT-2 layout model, like PEFT's suffix match (see
 * @cola/model `resolveTaps`): `c_attn`, `attn.c_proj`, `h.0.mlp.c_fc`, `score`, ... The layer
 * count is the gpu-host's business; a layer index beyond it fails the job with a reason.
 */
export function isKnownTarget(target: string): boolean {
  if (target === SCORE_TAP) return true;
  const layer = /^(?:h\.)?\d+\.(.+)$/.exec(target);
  if (layer) return (BLOCK_TAP_SUFFIXES as readonly string[]).includes(layer[1]!);
  return BLOCK_TAP_SUFFIXES.some((s) => s === target || s.endsWith(`.${target}`));
}

/** The block index a full target name selects (`h.3.attn.c_attn`, `3.mlp.c_fc` → 3), else undefined. */
function layerOf(target: string): number | undefined {
  const m = /^(?:h\.)?(\d+)\./.exec(target);
  return m ? Number(m[1]) : undefined;
}

function auxToWire(aux: AuxDto): NonNullable<NonNullable<JobSpec['method']>['aux']> {
  const { type, ...fields } = aux;
  try {
    return auxConfigToWire(validateAuxConfig({ type, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) }));
  } catch (e) {
    if (e instanceof AuxConfigError) throw invalid(e.field === '(root)' ? 'method.aux' : `method.aux.${e.field}`, e.message);
    throw e;
  }
}

/** The default peak learning rate of an optimizer type when the request names none. */
function defaultLr(type: 'adamw' | 'sgd'): number {
  // AdamW: the trainer's default (what `auto` trains with), not gl's generic AdamW default.
  return type === 'sgd' ? SGD_DEFAULTS.lr : validateFinetuneOptions({ method: 'cola', task: 'classification' }).optimizer.lr;
}

function optimizerToWire(h: HyperparametersDto | undefined): NonNullable<JobSpec['hyperparameters']>['optimizer'] {
  if (!h) return undefined;
  const lr = given(h.learning_rate);
  const multiplier = given(h.learning_rate_multiplier);
  const weightDecay = given(h.weight_decay);
  const momentum = given(h.momentum);
  const named = given(h.optimizer);
  if (lr === undefined && multiplier === undefined && weightDecay === undefined && momentum === undefined && named === undefined)
    return undefined;
  if (lr !== undefined && multiplier !== undefined) {
    throw invalid('hyperparameters.learning_rate_multiplier', 'give learning_rate or learning_rate_multiplier, not both');
  }
  const type = named ?? 'adamw';
  if (type === 'adamw' && momentum !== undefined)
    throw invalid('hyperparameters.momentum', 'momentum applies to optimizer "sgd" only; AdamW has betas');
  const input: Record<string, unknown> = { type, lr: lr ?? defaultLr(type) * (multiplier ?? 1) };
  if (weightDecay !== undefined) input.weightDecay = weightDecay;
  else if (type === 'adamw') input.weightDecay = validateFinetuneOptions({ method: 'cola', task: 'classification' }).optimizer.weightDecay;
  if (momentum !== undefined) input.momentum = momentum;
  try {
    return optimizerConfigToWire(validateOptimizerConfig(input));
  } catch (e) {
    if (e instanceof OptimizerConfigError)
      throw invalid(PARAM_NAMES[`hyperparameters.optimizer.${e.field}`] ?? `hyperparameters.${e.field}`, e.message);
    throw e;
  }
}

/**
 * The request's hyperparameters: the top-level ones, or OpenAI's `method.supervised.hyperparameters`
 * (a `supervised` method is ColA with its defaults, so only these carry over), never both.
 */
function hyperparametersOf(dto: CreateJobDto): HyperparametersDto | undefined {
  const m = dto.method;
  if (m?.supervised !== undefined && m.type !== 'supervised') {
    throw invalid('method.supervised', 'method.supervised goes with method.type "supervised"');
  }
  const nested = m?.supervised?.hyperparameters;
  if (nested !== undefined && dto.hyperparameters !== undefined) {
    throw invalid('method.supervised.hyperparameters', 'give hyperparameters at the top level or in method.supervised, not both');
  }
  return nested ?? dto.hyperparameters;
}

/**
 * Turns a create-job request into the cola.v1 JobSpec the pipeline runs, then checks it with the
 * pipeline's own `validateJobSpec` (the rules the gpu-host applies again when it starts the job),
 * so every rule lives in one place and a 400 here means the job could never have run. `auto` and
 * absent fields are proto zero values, which the pipeline reads as "the default".
 */
export function buildJobSpec(dto: CreateJobDto, ctx: JobSpecContext): { spec: JobSpec; validated: ValidatedJobSpec } {
  const m = dto.method;
  const h = hyperparametersOf(dto);
  for (const [i, t] of (m?.target_modules ?? []).entries()) {
    if (!isKnownTarget(t)) {
      throw invalid(
        `method.target_modules.${i}`,
        `unknown target module ${JSON.stringify(t)}: use c_attn, attn.c_proj, c_fc, mlp.c_proj, c_proj, score, or a full name such as h.0.attn.c_attn`,
      );
    }
    const block = layerOf(t);
    if (block !== undefined && ctx.layers !== null && block >= ctx.layers) {
      throw invalid(
        `method.target_modules.${i}`,
        `${JSON.stringify(t)} names block ${block}, but ${dto.model} has ${ctx.layers} blocks (h.0 to h.${ctx.layers - 1})`,
      );
    }
  }
  const transfer = m?.transfer;
  const spec: JobSpec = {
    jobId: ctx.jobId,
    tenantId: ctx.tenantId,
    baseModel: dto.model,
    task: ctx.task === 'classification' ? Task.TASK_CLASSIFICATION : Task.TASK_CAUSAL_LM,
    trainingFileId: dto.training_file,
    validationFileId: dto.validation_file ?? '',
    labels: ctx.labels,
    method: {
      aux: m?.aux ? auxToWire(m.aux) : undefined,
      targetModules: m?.target_modules ?? [],
      merged: m?.merged ?? false,
      interval: given(m?.interval) ?? 0,
      staleness: given(m?.staleness) ?? 0,
      transfer: transfer
        ? {
            mode: transfer.mode && transfer.mode !== 'auto' ? transferModeFromName(transfer.mode) : TransferMode.TRANSFER_MODE_UNSPECIFIED,
            dtype: transfer.dtype && transfer.dtype !== 'auto' ? dtypeFromName(transfer.dtype) : DType.DTYPE_UNSPECIFIED,
          }
        : undefined,
      mergeGroup: m?.merge_group ?? '',
    },
    hyperparameters: {
      epochs: given(h?.n_epochs) ?? 0,
      batchSize: given(h?.batch_size) ?? 0,
      maxLength: given(h?.max_length) ?? 0,
      optimizer: optimizerToWire(h),
      warmupFraction: given(h?.warmup_fraction) ?? 0,
      maxSteps: given(h?.max_steps) ?? 0,
      validationEvery: given(h?.validation_every) ?? 0,
      maxWindows: given(h?.max_windows) ?? 0,
    },
    seed: ctx.seed,
  };
  let validated: ValidatedJobSpec;
  try {
    validated = validateJobSpec(spec);
  } catch (e) {
    if (e instanceof JobSpecError) throw invalid(PARAM_NAMES[e.param] ?? e.param, e.message);
    throw e;
  }
  // A group is served as W + mean dW: every member must have a dW.
  if (validated.mergeGroup && !isMergeable(validated.options.aux)) {
    throw invalid(
      'method.merge_group',
      `a merge group averages weight changes, and a ${validated.options.aux.type} aux has none; use a lowrank or linear aux, or leave merge_group out`,
    );
  }
  return { spec, validated };
}
