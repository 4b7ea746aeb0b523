import { JOB_TRANSITIONS, type JobActor } from './job-lifecycle';
import type { JobStore } from './job-store';
import type { JobError, JobStatus } from './job-status';

/** The shortest chain of allowed moves from `from` to `to` (breadth-first over JOB_TRANSITIONS), or null. */
export function transitionPath(from: JobStatus, to: JobStatus): { to: JobStatus; by: JobActor }[] | null {
  const prev = new Map<JobStatus, { from: JobStatus; by: JobActor }>();
  const seen = new Set<JobStatus>([from]);
  const queue: JobStatus[] = [from];
  while (queue.length) {
    const cur = queue.shift()!;
    if (cur === to && cur !== from) break;
    for (const t of JOB_TRANSITIONS) {
      if (t.from !== cur || seen.has(t.to)) continue;
      seen.add(t.to);
      prev.set(t.to, { from: cur, by: t.by[0]! });
      queue.push(t.to);
    }
  }
  if (!prev.has(to)) return from === to ? [] : null;
  const path: { to: JobStatus; by: JobActor }[] = [];
  for (let s = to; s !== from;) {
    const p = prev.get(s)!;
    path.unshift({ to: s, by: p.by });
    s = p.from;
  }
  return path;
}

/**
 * Walks a job to `status` through allowed moves only, as the services would (tests and tools that
 * need a job in a given state use this instead of writing the status). Throws when no path exists
 * or a move is refused on the way.
 */
export async function driveJobTo(store: JobStore, jobId: string, status: JobStatus, error?: JobError): Promise<void> {
  const now = await store.status(jobId);
  if (now === null) throw new Error(`job ${jobId} does not exist`);
  const path = transitionPath(now, status);
  if (!path) throw new Error(`job ${jobId} cannot move from ${now} to ${status}`);
  for (const step of path) {
    const r = await store.transition(jobId, step.to, step.by, step.to === 'failed' ? error : undefined);
    if (!r.changed) throw new Error(`job ${jobId}: ${step.by} could not move it from ${r.from} to ${step.to}`);
  }
}
