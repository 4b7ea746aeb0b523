import type { AuxConfig } from '@cola/gl';
import type { FinetuneTask } from './finetune-options';

/** What the `auto` rules look at: the task, the aux, the data and the host's limits. */
export interface AutoInputs {
  task: FinetuneTask;
  /** Aux of the adapted layers (its type and, for lowrank, its rank). */
  aux: AuxConfig;
  /** Training rows (classification) or documents (causal LM). */
  trainRows: number;
  /** Tokens of every training row (classification) or the total tokens of the documents (LM, one entry). */
  rowTokens: readonly number[];
  /** The base model's context (n_positions). */
  context: number;
  /**
   * Most tokens one input may take (max_length x windows): one chunk of a host step within the
   * host's memory budget. A host step runs a batch in row chunks that fit the budget, but an
   * input's windows stay in one chunk so their outputs can be pooled; so the budget bounds an
   * input, not a batch.
   */
  tokenCap: number;
}

/** The values the user left at `auto` (undefined = chosen by the rules). */
export interface AutoGiven {
  lr?: number;
  epochs?: number;
  batchSize?: number;
  maxLength?: number;
  maxWindows?: number;
}

/** One value the rules chose and why, for the job's events and the bench's report. */
export interface AutoChoice {
  field: 'learning_rate' | 'n_epochs' | 'batch_size' | 'max_length' | 'max_windows';
  value: number;
  why: string;
}

/** The resolved values, and a reason for each one the rules chose. */
export interface AutoResult {
  lr: number;
  epochs: number;
  batchSize: number;
  maxLength: number;
  maxWindows: number;
  choices: AutoChoice[];
}

/**
 * Peak AdamW learning rate per aux type (docs/auto.md): the adapters of a sub-1M-parameter base
 * start at zero (lowrank's B) and need a larger rate than a full-size model's LoRA to move within
 * a few hundred steps; lr 1e-3 left a lowrank job at ln 2. `npm run bench:tasks` checks them
 * against a small grid per task.
 */
export const AUTO_LR: Readonly<Record<AuxConfig['type'], number>> = Object.freeze({ lowrank: 1e-2, linear: 3e-3, mlp: 3e-3 });
/** Optimizer steps a classification run should reach at least (epochs grow until it does, up to {@link AUTO_MAX_EPOCHS}). */
export const AUTO_MIN_STEPS_CLASSIFICATION = 150;
/** Same for causal LM, which sees many more targets per step. */
export const AUTO_MIN_STEPS_LM = 100;
export const AUTO_MAX_EPOCHS = 8;
/** Default windows per classification input when the inputs are longer than the context. */
export const AUTO_MAX_WINDOWS = 8;

const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0;

/**
 * The `auto` rules (documented in docs/auto.md):
 * - max_length: classification follows the data, the 90th percentile of row lengths rounded up
 *   to 16, at most the context (and the token cap); causal LM uses the context.
 * - max_windows: inputs whose 90th percentile exceeds the context are windowed (up to
 *   {@link AUTO_MAX_WINDOWS} windows of the context, and as many as the token cap holds) rather
 *   than cut.
 * - batch_size: 32 (the paper's) when the data gives at least 40 batches of 32, else 16, else 8.
 * - n_epochs: enough passes to reach {@link AUTO_MIN_STEPS_CLASSIFICATION} (or LM's) optimizer
 *   steps, between 1 and {@link AUTO_MAX_EPOCHS}.
 * - learning_rate: {@link AUTO_LR} by aux type; lowrank scaled by sqrt(8 / rank), since a
 *   higher rank adds more directions that move together.
 */
export function chooseAutoHyperparameters(input: AutoInputs, given: AutoGiven = {}): AutoResult {
  const choices: AutoChoice[] = [];
  const sorted = [...input.rowTokens].sort((a, b) => a - b);
  const p90 = quantile(sorted, 0.9);
  const isCls = input.task === 'classification';

  const cap = Math.max(16, input.tokenCap);
  let maxLength = given.maxLength;
  if (maxLength === undefined) {
    maxLength = isCls ? Math.min(input.context, cap, Math.max(16, Math.ceil(p90 / 16) * 16)) : input.context;
    choices.push({
      field: 'max_length',
      value: maxLength,
      why: isCls
        ? `90% of training rows have at most ${p90} tokens; capped by the model's context of ${input.context}` +
          (cap < input.context ? ` and the host's memory budget of ${cap} tokens per input` : '')
        : `causal LM trains on windows of the model's context (${input.context})`,
    });
  }
  let maxWindows = given.maxWindows;
  if (maxWindows === undefined) {
    const wanted = isCls && p90 > maxLength ? Math.min(AUTO_MAX_WINDOWS, Math.ceil(p90 / maxLength)) : 1;
    const fit = Math.max(1, Math.floor(cap / maxLength));
    maxWindows = Math.min(wanted, fit);
    if (isCls)
      choices.push({
        field: 'max_windows',
        value: maxWindows,
        why:
          (maxWindows > 1
            ? `rows are longer than max_length (90th percentile ${p90} tokens): ${maxWindows} windows of ${maxLength} tokens cover them, and their outputs are averaged`
            : p90 > maxLength
              ? `rows are longer than max_length (90th percentile ${p90} tokens)`
              : `90% of rows fit in one window of ${maxLength} tokens`) +
          (fit < wanted ? `; ${wanted} wanted, the host's memory budget holds ${fit} x ${maxLength} tokens per input` : ''),
      });
  }

  let batchSize = given.batchSize;
  if (batchSize === undefined) {
    batchSize = input.trainRows >= 32 * 40 ? 32 : input.trainRows >= 16 * 20 ? 16 : 8;
    // Not bounded by memory: the host runs a batch in row chunks that fit its budget.
    choices.push({ field: 'batch_size', value: batchSize, why: `${input.trainRows} training rows` });
  }

  const batchesPerEpoch = Math.max(
    1,
    Math.ceil((isCls ? input.trainRows : Math.ceil(sorted.reduce((a, b) => a + b, 0) / maxLength)) / batchSize),
  );
  let epochs = given.epochs;
  if (epochs === undefined) {
    const target = isCls ? AUTO_MIN_STEPS_CLASSIFICATION : AUTO_MIN_STEPS_LM;
    epochs = Math.min(AUTO_MAX_EPOCHS, Math.max(1, Math.ceil(target / batchesPerEpoch)));
    choices.push({
      field: 'n_epochs',
      value: epochs,
      why: `${batchesPerEpoch} batches per epoch; at least ${target} optimizer steps wanted (at most ${AUTO_MAX_EPOCHS} epochs) -> ${epochs * batchesPerEpoch} steps`,
    });
  }

  let lr = given.lr;
  if (lr === undefined) {
    const base = AUTO_LR[input.aux.type];
    const rank = input.aux.type === 'lowrank' ? input.aux.rank : undefined;
    lr = rank !== undefined ? Number((base * Math.sqrt(8 / rank)).toPrecision(3)) : base;
    choices.push({
      field: 'learning_rate',
      value: lr,
      why:
        rank !== undefined
          ? `AdamW peak for a lowrank aux: ${base} at rank 8, scaled by sqrt(8 / rank ${rank})`
          : `AdamW peak for a ${input.aux.type} aux`,
    });
  }
  return { lr, epochs, batchSize, maxLength, maxWindows, choices };
}

/** One line per choice, for a job event or a log. */
export function describeAutoChoices(choices: readonly AutoChoice[]): string {
  return choices.map((c) => `${c.field}=${c.value} (${c.why})`).join('; ');
}
