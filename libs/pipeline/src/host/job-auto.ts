import { ByteTokenizer, windowCoverage, type JsonlDataset } from '@cola/data';
import { chooseAutoHyperparameters, describeAutoChoices, type FinetuneOptions } from '@cola/train';
import type { ValidatedJobSpec } from '../jobs/job-spec';

/**
 * Most tokens one host batch may hold when the host names no memory budget: the paper's batch
 * (32 x 128), which the activation memory of the committed base model was measured at.
 */
export const DEFAULT_HOST_TOKEN_CAP = 32 * 128;

/** The job's options with every `auto` value chosen from its data, and what to tell the user. */
export interface JobAutoResult {
  options: FinetuneOptions;
  /** The event message: the chosen values and why, and the share of training tokens cut. */
  message: string;
  /** Share of the training file's tokens beyond max_length (dropped). */
  droppedShare: number;
}

function texts(f: JsonlDataset): string[] {
  return f.kind === 'classification' ? f.rows.map((r) => r.text) : f.rows.map((r) => r.prompt + r.completion);
}

/**
 * Applies the `auto` rules of @cola/train to the values the request left at `auto`. The gpu-host
 * runs classification inputs as one window (max_windows 1): what does not fit max_length is cut,
 * and the event says how much.
 */
export function resolveJobAuto(
  v: ValidatedJobSpec,
  train: JsonlDataset,
  context: number,
  tokenCap = DEFAULT_HOST_TOKEN_CAP,
): JobAutoResult {
  const tok = new ByteTokenizer();
  const rows = texts(train);
  const rowTokens =
    v.task === 'classification' ? rows.map((t) => tok.encode(t).length) : [rows.reduce((n, t) => n + tok.encode(t).length, 0)];
  const a = chooseAutoHyperparameters(
    { task: v.task, aux: v.options.aux, trainRows: rows.length, rowTokens, context, tokenCap },
    { ...v.given, maxWindows: 1 },
  );
  const options: FinetuneOptions = {
    ...v.options,
    epochs: a.epochs,
    batchSize: a.batchSize,
    maxLength: a.maxLength,
    optimizer: { ...v.options.optimizer, lr: a.lr },
  };
  const cut = v.task === 'classification' ? windowCoverage(rows, tok, a.maxLength, 1) : { droppedShare: 0, dropped: 0, tokens: 0 };
  const chosen = a.choices.length ? `Auto settings: ${describeAutoChoices(a.choices)}` : 'No auto settings: every value was given';
  const truncation =
    v.task === 'classification'
      ? `; truncation: ${(100 * cut.droppedShare).toFixed(1)}% of the training tokens are beyond max_length ${a.maxLength} and dropped`
      : '';
  return { options, message: chosen + truncation, droppedShare: cut.droppedShare };
}
