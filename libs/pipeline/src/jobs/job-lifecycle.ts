import { FINAL_STATUSES, JOB_STATUSES, type JobStatus } from './job-status';

/** Who moves a job's status: the API front door, the scheduler of host steps, a fit-task worker. */
export const JOB_ACTORS = ['gateway', 'gpu-host', 'aux-trainer'] as const;
export type JobActor = (typeof JOB_ACTORS)[number];

/** One allowed move of a job's status. */
export interface JobTransition {
  from: JobStatus;
  to: JobStatus;
  /** The services that may make this move. */
  by: readonly JobActor[];
  /** Why the move exists. */
  why: string;
}

/**
 * Every allowed status move. Anything not listed is refused by {@link JobStore.transition}, in
 * one Lua script, so two services racing cannot interleave a read and a write:
 * - a final status is never left;
 * - a job that answered `cancelling` can only end `cancelled` (never `succeeded`, nor `failed`
 *   for a reason that arrived after the tenant's cancel).
 */
export const JOB_TRANSITIONS: readonly JobTransition[] = [
  { from: 'queued', to: 'running', by: ['gpu-host'], why: 'a gpu-host takes the job' },
  { from: 'running', to: 'running', by: ['gpu-host'], why: 'a gpu-host resumes a job a stopped host held' },
  { from: 'queued', to: 'cancelled', by: ['gateway', 'gpu-host'], why: 'cancelled before any host took it' },
  { from: 'queued', to: 'cancelling', by: ['gateway'], why: 'cancel of a job a host is taking right now' },
  { from: 'running', to: 'cancelling', by: ['gateway'], why: 'cancel requested; the gpu-host stops the job' },
  { from: 'cancelling', to: 'cancelled', by: ['gpu-host'], why: 'the gpu-host stopped the job and freed its data' },
  { from: 'queued', to: 'failed', by: ['gpu-host'], why: 'the job cannot start (spec or files)' },
  { from: 'running', to: 'failed', by: ['gpu-host', 'aux-trainer'], why: 'a step, a payload or a fit task failed' },
  { from: 'running', to: 'succeeded', by: ['gpu-host'], why: 'every batch was trained and evaluated' },
];

/** The statuses from which `by` may move a job to `to` (empty: never). */
export function allowedFrom(to: JobStatus, by: JobActor): JobStatus[] {
  return JOB_TRANSITIONS.filter((t) => t.to === to && t.by.includes(by)).map((t) => t.from);
}

/** Whether `by` may move a job from `from` to `to`. */
export function canTransition(from: JobStatus, to: JobStatus, by: JobActor): boolean {
  return JOB_TRANSITIONS.some((t) => t.from === from && t.to === to && t.by.includes(by));
}

/** Statuses a job is born with: `queued` from the API; `running` for jobs injected by tests and tools. */
export const INITIAL_STATUSES: readonly JobStatus[] = ['queued', 'running'];

/** True for a status string we know. */
export function isJobStatus(s: string | null | undefined): s is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(s ?? '');
}

/** True when the status is final. */
export function isFinal(s: JobStatus): boolean {
  return FINAL_STATUSES.has(s);
}
