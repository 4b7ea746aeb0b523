import type { Queue } from 'bullmq';
import { jobIds } from '@cola/config';
import type { JobSpec } from '@cola/proto';
import { JobStore } from './job-store';
import { validateJobSpec, type ValidatedJobSpec } from './job-spec';
import type { JobsQueueData } from '../queues/jobs-queue-data';

/**
 * Validates a spec, writes the job record and enqueues the job for the gpu-host. The uploads it
 * names must already be stored (`putUpload`). Re-submitting the same job id is refused.
 */
export async function submitJob(store: JobStore, queue: Queue<JobsQueueData>, spec: JobSpec): Promise<ValidatedJobSpec> {
  const validated = validateJobSpec(spec);
  await store.create(spec, 'queued');
  await queue.add('finetune', { jobId: spec.jobId }, { jobId: jobIds.job(spec.jobId) });
  return validated;
}
