import { JsonlError } from '@cola/data';
import type { JobError } from '../jobs/job-status';
import { JobSpecError } from '../jobs/job-spec';
import { JobDataError } from './job-task-data';

/** Maps what went wrong while opening or running a job to the error the tenant sees. */
export function jobErrorOf(e: unknown): JobError {
  if (e instanceof JobSpecError) return { code: 'invalid_job_spec', message: e.message, param: e.param };
  if (e instanceof JobDataError)
    return {
      code: e.param === 'validation_file' ? 'invalid_validation_file' : 'invalid_training_file',
      message: e.message,
      param: e.param,
    };
  if (e instanceof JsonlError) return { code: 'invalid_training_file', message: e.message, param: 'training_file' };
  // The batchers check the rows (labels, empty texts) up front with RangeErrors.
  if (e instanceof RangeError) return { code: 'invalid_training_file', message: e.message, param: 'training_file' };
  return { code: 'internal_error', message: e instanceof Error ? e.message : String(e), param: null };
}
