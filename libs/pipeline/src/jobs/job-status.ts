/**
 * Statuses of a fine-tuning job, in the OpenAI fine-tuning API's vocabulary. `cancelling` is the
 * "cancellation requested" state: the gpu-host stops scheduling the job and frees its data, then
 * moves it to `cancelled`. Files are validated synchronously when a job is created, so a job is
 * born `queued` (OpenAI's `validating_files` never applies here).
 */
export const JOB_STATUSES = ['queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses a job never leaves. */
export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * Machine-readable failure codes a job record can carry, by meaning:
 * - `invalid_job_spec`: the stored spec breaks a rule (param names the field);
 * - `invalid_training_file` / `invalid_validation_file`: the file's rows cannot train the job;
 * - `invalid_payload`: an adaptation payload was malformed, truncated or did not fit the aux;
 * - `training_diverged`: a loss, gradient or weight became NaN or infinite (the message names the step);
 * - `fit_task_timeout`: a fit task never became runnable;
 * - `internal_error`: a fault of ours, not of the job.
 */
export const JOB_ERROR_CODES = [
  'invalid_job_spec',
  'invalid_training_file',
  'invalid_validation_file',
  'invalid_payload',
  'training_diverged',
  'fit_task_timeout',
  'internal_error',
] as const;
export type JobErrorCode = (typeof JOB_ERROR_CODES)[number];

/** A structured failure, as the API reports it. */
export interface JobError {
  /** Machine-readable, one of {@link JOB_ERROR_CODES}. */
  code: JobErrorCode;
  /** What went wrong and how to fix it. */
  message: string;
  /** The request field at fault, or null. */
  param: string | null;
}

/**
 * An error that knows which job failure it means. Code that detects a failure throws one, so the
 * mapping to a {@link JobError} depends on what went wrong, not on which JavaScript class a lower
 * layer happened to throw.
 */
export class JobFailure extends Error {
  override readonly name: string = 'JobFailure';
  constructor(
    readonly code: JobErrorCode,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  toJobError(): JobError {
    return { code: this.code, message: this.message, param: this.param };
  }
}

/** A non-finite loss, gradient or weight: the job stops before the value is stored anywhere. */
export class TrainingDivergedError extends JobFailure {
  override readonly name = 'TrainingDivergedError';
  constructor(
    /** The host step (batches done) or fit task at which it was detected. */
    readonly step: number,
    what: string,
  ) {
    super(
      'training_diverged',
      `training diverged at step ${step}: ${what}; nothing non-finite was stored. Lower the learning rate, momentum or the aux scale, or set a gradient clip norm`,
    );
  }
}
