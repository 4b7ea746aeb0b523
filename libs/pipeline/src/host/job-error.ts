import { JsonlError } from '@cola/data';
import { JobFailure, type JobError } from '../jobs/job-status';
import { JobSpecError } from '../jobs/job-spec';
import { JobDataError } from './job-task-data';

/**
 * Maps what went wrong while opening or running a job to the error the tenant sees, by meaning:
 * errors that know their failure (JobFailure, a bad spec, a bad file) say so; anything else is ours.
 */
export function jobErrorOf(e: unknown): JobError {
  if (e instanceof JobFailure) return e.toJobError();
  if (e instanceof JobSpecError) return { code: 'invalid_job_spec', message: e.message, param: e.param };
  if (e instanceof JobDataError)
    return {
      code: e.param === 'validation_file' ? 'invalid_validation_file' : 'invalid_training_file',
      message: e.message,
      param: e.param,
    };
  if (e instanceof JsonlError) return { code: 'invalid_training_file', message: e.message, param: 'training_file' };
  return { code: 'internal_error', message: e instanceof Error ? e.message : String(e), param: null };
}
