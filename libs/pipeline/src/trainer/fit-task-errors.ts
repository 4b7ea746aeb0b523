import { UnrecoverableError } from 'bullmq';
import type { JobErrorCode } from '../jobs/job-status';

/**
 * A fit task that cannot run yet but will: its predecessor (seq − 1) is not applied, or another
 * trainer moved the job's head while this one fitted (compare-and-set conflict). The worker puts
 * the task back with a delay; nothing was written.
 */
export class FitTaskNotReadyError extends Error {
  override readonly name = 'FitTaskNotReadyError';
  constructor(
    message: string,
    /**
     * Why: ordering (head behind seq), a lost compare-and-set, no aux state yet, or an expired
     * payload the gpu-host was asked to publish again.
     */
    readonly reason: 'order' | 'conflict' | 'no-state' | 'payload-missing',
    /**
     * Since when the task has waited for this (ms since the epoch); default its enqueue time. A
     * re-publication is waited for from the request, not from the enqueue an hour before.
     */
    readonly waitingSinceMs?: number,
  ) {
    super(message);
  }
}

/**
 * A fit task that can never succeed: a malformed, truncated or corrupt payload, or data
 * that do not fit the job's aux. Extends BullMQ's UnrecoverableError so the queue fails it at once
 * without retries; the processor has already marked the training job failed with `code` and the
 * message as the reason.
 */
export class FitTaskRejectedError extends UnrecoverableError {
  constructor(
    message: string,
    /** Machine-readable reason, stored in the job record's error (`invalid_payload`, ...). */
    readonly code: JobErrorCode,
  ) {
    super(message);
  }
}
