import type { JobError, JobStatus } from '../jobs/job-status';
import type { StopReason } from './host-job';

/** How a job left this host. `requeued`: the host is shutting down; another host resumes it. */
export type JobEnd = Exclude<StopReason, 'requeued'> | 'succeeded' | 'requeued';

/** Typed events of the gpu-host's `HostService`, for tests, metrics and logs. */
export interface HostServiceEvents {
  /** A job was registered and will be scheduled. */
  started: [{ jobId: string; step: number; nextSeq: number; auxVersion: number; numTasks: number }];
  /** One host step ran (one or several tenants). */
  step: [{ jobIds: string[]; rows: number; ms: number }];
  /** A fit task was published. */
  published: [{ jobId: string; seq: number; auxVersion: number; bytes: number; encodeMs: number; writeMs: number }];
  /** A fit task whose payload expired unread was computed again and published under a new key. */
  republished: [{ jobId: string; seq: number; auxVersion: number; attempt: number; bytes: number }];
  /** A newer aux version was loaded for a job. */
  aux: [{ jobId: string; version: number }];
  /** A job left the host. */
  ended: [{ jobId: string; status: JobEnd; error?: JobError }];
  /**
   * The compute backend aborted: the host stopped stepping and handed its jobs back. The process
   * must exit non-zero (after `close()`), so that its supervisor restarts it and the jobs resume.
   */
  fatal: [{ reason: string }];
}

/** The `jobs` queue job's result. */
export interface HostJobResult {
  status: JobStatus | 'missing';
}
