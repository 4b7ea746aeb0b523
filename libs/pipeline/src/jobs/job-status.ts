/**
 * Statuses of a fine-tuning job, in the OpenAI fine-tuning API's vocabulary. `cancelling` is the
 * "cancellation requested" state: the gpu-host stops scheduling the job and frees its data, then
 * moves it to `cancelled`.
 */
export const JOB_STATUSES = ['validating_files', 'queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses a job never leaves. */
export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** A structured failure, as the API reports it. */
export interface JobError {
  /** Machine-readable, e.g. `invalid_payload`, `invalid_training_file`, `internal_error`. */
  code: string;
  /** What went wrong and how to fix it. */
  message: string;
  /** The request field at fault, or null. */
  param: string | null;
}
