import { validateAuxConfig, validateOptimizerConfig, type AuxConfig, type OptimizerConfig } from '@cola/gl';

/** How the adapters are trained. */
export const FINETUNE_METHODS = ['cola', 'lora', 'head'] as const;
/**
 * - `cola`: Gradient Learning. The host computes G = dL/dh~ only; the fit step turns (X, G) into
 *   the update (in-process here; on aux-trainers in the service).
 * - `lora`: ordinary back-propagation into the same adapters, same engine, same optimizer.
 * - `head`: the baseline with a frozen base: only the classifier head (a linear aux with bias on
 *   `score`) is trained, by back-propagation.
 */
export type FinetuneMethod = (typeof FINETUNE_METHODS)[number];

export const FINETUNE_TASKS = ['classification', 'causal_lm'] as const;
/** What the model is fine-tuned for. */
export type FinetuneTask = (typeof FINETUNE_TASKS)[number];

/** Options of a fine-tuning run (raw form: every field but `method` and `task` has a default). */
export interface FinetuneOptionsInput {
  /** Training method. */
  method: FinetuneMethod;
  /** Task; decides the head ('cls' or 'lm') and the metric (accuracy or perplexity). */
  task: FinetuneTask;
  /** Aux model of the adapted layers. Default: lowrank rank 8, scale 1 (the paper's). */
  aux?: unknown;
  /**
   * Aux model of the classifier head (`score`). Default: linear with bias, as in the paper.
   * Only used when the targets include `score`.
   */
  headAux?: unknown;
  /** Module suffixes to adapt. Default: `c_attn` and, for classification, `score`. */
  targetModules?: string[];
  /** ColA only: train on W + dW (merged) instead of adding g(X) (unmerged). Default false. */
  merged?: boolean;
  /** ColA only: adaptation interval I, batches per fit step. Default 1 (equals LoRA). */
  interval?: number;
  /** Optimizer, one per adapted layer. Default AdamW lr 1e-3, weight decay 5e-4. */
  optimizer?: unknown;
  /** Linear warmup as a fraction of the optimizer steps. Default 0.05 (the paper's). */
  warmupFraction?: number;
  /** Clip each layer's gradient norm to this; off by default. */
  clipNorm?: number;
  /** Passes over the training data. Default 1. */
  epochs?: number;
  /** Stop after this many batches (for tests and quick demos). Default: no limit. */
  maxSteps?: number;
  /** Sequences per batch. Default 32 (the paper's). */
  batchSize?: number;
  /** Tokens per sequence (bytes, since the tokenizer is byte-level). Default 128 (the paper's). */
  maxLength?: number;
  /** Seed of adapter init and data order. Default 0. */
  seed?: number;
}

/** Validated options with every default filled in. */
export interface FinetuneOptions {
  method: FinetuneMethod;
  task: FinetuneTask;
  aux: AuxConfig;
  headAux: AuxConfig;
  targetModules: string[];
  merged: boolean;
  interval: number;
  optimizer: OptimizerConfig;
  warmupFraction: number;
  clipNorm: number | undefined;
  epochs: number;
  maxSteps: number | undefined;
  batchSize: number;
  maxLength: number;
  seed: number;
}

/** Raised for a bad option; `field` names it. */
export class FinetuneOptionsError extends Error {
  override readonly name = 'FinetuneOptionsError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`finetune option "${field}" ${message}`);
  }
}

function positiveInt(field: string, v: unknown, dflt: number | undefined, max: number): number | undefined {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new FinetuneOptionsError(field, `must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Checks every option at once and merges the defaults; messages say how to fix the value. */
export function validateFinetuneOptions(raw: FinetuneOptionsInput): FinetuneOptions {
  if (!FINETUNE_METHODS.includes(raw.method))
    throw new FinetuneOptionsError('method', `must be one of ${FINETUNE_METHODS.join(', ')}, got ${JSON.stringify(raw.method)}`);
  if (!FINETUNE_TASKS.includes(raw.task))
    throw new FinetuneOptionsError('task', `must be one of ${FINETUNE_TASKS.join(', ')}, got ${JSON.stringify(raw.task)}`);
  const isCls = raw.task === 'classification';
  if (raw.method !== 'cola' && (raw.merged !== undefined || raw.interval !== undefined)) {
    throw new FinetuneOptionsError(raw.merged !== undefined ? 'merged' : 'interval', `only applies to method "cola", not "${raw.method}"`);
  }
  if (raw.method === 'head' && !isCls)
    throw new FinetuneOptionsError('method', '"head" trains a classifier head; use task "classification"');
  const targetModules = raw.method === 'head' ? ['score'] : (raw.targetModules ?? (isCls ? ['c_attn', 'score'] : ['c_attn']));
  if (!Array.isArray(targetModules) || targetModules.length === 0 || !targetModules.every((t) => typeof t === 'string' && t.length > 0)) {
    throw new FinetuneOptionsError('targetModules', 'must be a non-empty list of module names, e.g. ["c_attn", "score"]');
  }
  if (!isCls && targetModules.includes('score'))
    throw new FinetuneOptionsError('targetModules', '"score" is the classifier head; causal LM has none');
  const merged = raw.merged ?? false;
  if (typeof merged !== 'boolean') throw new FinetuneOptionsError('merged', 'must be true or false');
  const aux = validateAuxConfig(raw.aux ?? { type: 'lowrank', rank: 8, scale: 1 });
  const headAux = validateAuxConfig(raw.headAux ?? { type: 'linear', bias: true });
  if (merged && (aux.type === 'mlp' || headAux.type === 'mlp')) {
    throw new FinetuneOptionsError('merged', 'needs a mergeable aux (lowrank or linear); an mlp aux can only run unmerged');
  }
  const warmupFraction = raw.warmupFraction ?? 0.05;
  if (typeof warmupFraction !== 'number' || !(warmupFraction >= 0 && warmupFraction < 1)) {
    throw new FinetuneOptionsError('warmupFraction', `must be in [0, 1), got ${JSON.stringify(raw.warmupFraction)}`);
  }
  if (raw.clipNorm !== undefined && !(typeof raw.clipNorm === 'number' && raw.clipNorm > 0)) {
    throw new FinetuneOptionsError('clipNorm', `must be a number > 0, got ${JSON.stringify(raw.clipNorm)}`);
  }
  const seed = raw.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0)
    throw new FinetuneOptionsError('seed', `must be an integer >= 0, got ${JSON.stringify(raw.seed)}`);
  return {
    method: raw.method,
    task: raw.task,
    aux,
    headAux,
    targetModules,
    merged,
    interval: positiveInt('interval', raw.interval, 1, 1024)!,
    optimizer: validateOptimizerConfig(raw.optimizer ?? { type: 'adamw', lr: 1e-3, weightDecay: 5e-4 }),
    warmupFraction,
    clipNorm: raw.clipNorm,
    epochs: positiveInt('epochs', raw.epochs, 1, 1000)!,
    maxSteps: positiveInt('maxSteps', raw.maxSteps, undefined, 10_000_000),
    batchSize: positiveInt('batchSize', raw.batchSize, 32, 4096)!,
    maxLength: positiveInt('maxLength', raw.maxLength, 128, 1_000_000)!,
    seed,
  };
}
