import type { ClassificationRow, JsonlDataset } from '@cola/data';
import { classificationTask, languageModelTask, type TaskData } from '@cola/train';
import type { ValidatedJobSpec } from '../jobs/job-spec';

/** Raised when a job's files cannot train it; `param` is the API field at fault. */
export class JobDataError extends Error {
  override readonly name = 'JobDataError';
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The class list of a classification job in head-output order: the spec's labels (strings on
 * the wire) mapped back to the files' label values, so integer labels stay integers exactly as
 * `parseJsonl` returned them. Without labels in the spec, the training file's sorted labels.
 */
function classList(specLabels: readonly string[], files: readonly JsonlDataset[]): (string | number)[] {
  const byText = new Map<string, string | number>();
  for (const f of files) if (f.kind === 'classification') for (const l of f.labels) byText.set(String(l), l);
  const first = files[0];
  if (specLabels.length === 0) return first?.kind === 'classification' ? [...first.labels] : [];
  return specLabels.map((s) => byText.get(s) ?? s);
}

function checkLabels(rows: readonly ClassificationRow[], labels: readonly (string | number)[], param: string): void {
  const empty = rows.findIndex((r) => r.text.length === 0);
  if (empty >= 0) throw new JobDataError(param, `row ${empty + 1} has an empty text; every row needs at least one character`);
  const known = new Set(labels);
  const bad = rows.findIndex((r) => !known.has(r.label));
  if (bad >= 0) {
    throw new JobDataError(
      param,
      `row ${bad + 1} has label ${JSON.stringify(rows[bad]!.label)}, which is not one of the job's labels ${JSON.stringify(labels)}; fix the file or the job's labels`,
    );
  }
}

/**
 * The task data of a job, built exactly as the single-process trainer builds it
 * (`classificationTask` / `languageModelTask` of @cola/train), so the distributed run sees the
 * same batches in the same order as `finetune` on the same rows and seed:
 * - classification: `{"text","label"}` rows, labels in the spec's order;
 * - causal LM: `{"prompt","completion"}` rows as documents `prompt + completion`.
 * A missing validation file gives an empty evaluation set. `maxWindows` (classification) splits
 * longer inputs into windows whose outputs are pooled, as `classificationTask` does.
 */
export function buildJobTaskData(
  job: Pick<ValidatedJobSpec, 'task' | 'spec'>,
  train: JsonlDataset,
  validation: JsonlDataset | null,
  maxWindows = 1,
): TaskData {
  const name = job.spec.jobId;
  if (job.task === 'classification') {
    for (const [f, param] of [
      [train, 'training_file'],
      [validation, 'validation_file'],
    ] as const) {
      if (f && f.kind !== 'classification') {
        throw new JobDataError(
          param,
          'a classification job needs {"text": ..., "label": ...} rows, but the file holds {"prompt","completion"} rows',
        );
      }
    }
    const labels = classList(job.spec.labels, validation ? [train, validation] : [train]);
    const trainRows = (train as Extract<JsonlDataset, { kind: 'classification' }>).rows;
    const evalRows = validation ? (validation as Extract<JsonlDataset, { kind: 'classification' }>).rows : [];
    checkLabels(trainRows, labels, 'training_file');
    checkLabels(evalRows, labels, 'validation_file');
    return classificationTask(name, trainRows, evalRows, labels, { maxWindows });
  }
  for (const [f, param] of [
    [train, 'training_file'],
    [validation, 'validation_file'],
  ] as const) {
    if (f && f.kind !== 'completion') {
      throw new JobDataError(
        param,
        'a causal_lm job needs {"prompt": ..., "completion": ...} rows, but the file holds {"text","label"} rows',
      );
    }
  }
  const docs = (d: JsonlDataset | null): string[] => (d?.kind === 'completion' ? d.rows.map((r) => r.prompt + r.completion) : []);
  const trainDocs = docs(train);
  if (trainDocs.length === 0 || trainDocs.every((d) => d.length === 0))
    throw new JobDataError('training_file', 'the training file has no text to train on; add rows with a non-empty prompt or completion');
  return languageModelTask(name, trainDocs, docs(validation));
}
