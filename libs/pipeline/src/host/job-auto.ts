import { ByteTokenizer, windowCoverage, type JsonlDataset } from '@cola/data';
import { resolveTaps, SCORE_TAP, type GptConfig } from '@cola/model';
import { chooseAutoHyperparameters, describeAutoChoices, type FinetuneOptions } from '@cola/train';
import type { JobResolved } from '../jobs/job-store';
import type { ValidatedJobSpec } from '../jobs/job-spec';
import type { HostMemoryBudget } from './host-memory-budget';

/** The job's options with every `auto` value chosen from its data, and what to tell the user. */
export interface JobAutoResult {
  options: FinetuneOptions;
  /** Windows per classification input (1 for causal LM). */
  maxWindows: number;
  /** The event message: the chosen values and why, and the share of training tokens cut. */
  message: string;
  /** Share of the training file's tokens beyond max_length x max_windows (dropped). */
  droppedShare: number;
  /** What the job record shows as the values the job runs with. */
  resolved: JobResolved;
}

function texts(f: JsonlDataset): string[] {
  return f.kind === 'classification' ? f.rows.map((r) => r.text) : f.rows.map((r) => r.prompt + r.completion);
}

/**
 * Most tokens one input may take on this host: the rows of a host-step chunk that fit the whole
 * memory budget, times the context. A step runs in row chunks, but an input's windows stay in one
 * chunk (their outputs are pooled), so this bounds max_length x max_windows. Measured with the LM
 * head, whose logits are the larger of the two heads', so the bound errs on the safe side.
 */
export async function hostInputTokenCap(
  budget: Pick<HostMemoryBudget, 'bytes' | 'bytesPerRow'>,
  config: GptConfig,
  targetModules: readonly string[],
): Promise<number> {
  // The score tap exists once a classifier head is installed (not yet when a job opens); the block taps dominate the bytes.
  const blocks = targetModules.filter((t) => t !== SCORE_TAP);
  const taps = blocks.length ? resolveTaps(config, blocks) : [];
  const perRow = await budget.bytesPerRow('lm', config.nPositions, taps);
  return Math.max(1, Math.floor(budget.bytes / perRow)) * config.nPositions;
}

/**
 * Applies the `auto` rules of @cola/train to the values the request left at `auto`: a
 * classification input longer than max_length is split into windows (max_windows) whose outputs
 * are pooled, as many as the data needs and the host's memory holds; what the windows still leave
 * out is reported as the share of training tokens dropped.
 */
export function resolveJobAuto(v: ValidatedJobSpec, train: JsonlDataset, context: number, tokenCap: number): JobAutoResult {
  const tok = new ByteTokenizer();
  const rows = texts(train);
  const isCls = v.task === 'classification';
  const rowTokens = isCls ? rows.map((t) => tok.encode(t).length) : [rows.reduce((n, t) => n + tok.encode(t).length, 0)];
  const a = chooseAutoHyperparameters(
    { task: v.task, aux: v.options.aux, trainRows: rows.length, rowTokens, context, tokenCap },
    isCls ? v.given : { ...v.given, maxWindows: 1 },
  );
  const options: FinetuneOptions = {
    ...v.options,
    epochs: a.epochs,
    batchSize: a.batchSize,
    maxLength: a.maxLength,
    optimizer: { ...v.options.optimizer, lr: a.lr },
  };
  const maxWindows = isCls ? a.maxWindows : 1;
  const cut = isCls ? windowCoverage(rows, tok, a.maxLength, maxWindows) : { droppedShare: 0 };
  const chosen = a.choices.length ? `Auto settings: ${describeAutoChoices(a.choices)}` : 'No auto settings: every value was given';
  const truncation = isCls
    ? `; truncation: ${(100 * cut.droppedShare).toFixed(1)}% of the training tokens are beyond ${maxWindows} window(s) of ${a.maxLength} tokens and dropped`
    : '';
  return {
    options,
    maxWindows,
    message: chosen + truncation,
    droppedShare: cut.droppedShare,
    resolved: {
      lr: a.lr,
      epochs: a.epochs,
      batchSize: a.batchSize,
      maxLength: a.maxLength,
      maxWindows,
      droppedShare: cut.droppedShare,
    },
  };
}
