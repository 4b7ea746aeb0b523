import type { JobEventEntry, JobProgress } from '@cola/pipeline';
import { unixSeconds } from '../common/ids';

/** Events read from the start of a job to find its first training step. */
export const ETA_EVENTS_SCANNED = 50;

/**
 * `estimated_finish` of a running job from its measured step rate: steps done since its first
 * progress event, over the time since that event (so a stalled job's estimate moves out rather
 * than staying put), extended over the steps left. Null until two distinct steps are known.
 *
 * @param earlyEvents the job's first events, oldest first (their times are the gpu-host's clock).
 * @param now         milliseconds since the epoch.
 */
export function estimatedFinish(progress: JobProgress | null, earlyEvents: readonly JobEventEntry[], now: number): number | null {
  if (!progress || progress.step <= 0 || progress.step >= progress.totalSteps) return null;
  const first = earlyEvents.find((e) => typeof e.metrics?.step === 'number' && e.metrics.step > 0);
  if (!first) return null;
  const steps = progress.step - first.metrics!.step!;
  const ms = now - first.createdAt;
  if (steps <= 0 || ms <= 0) return null;
  return unixSeconds(now + ((progress.totalSteps - progress.step) * ms) / steps);
}
