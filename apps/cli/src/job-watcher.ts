import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { ColaApiClient, Job, JobEvent } from './api-client';
import { formatBytes, sparkline } from './format';

/** One job to watch, with the client of its tenant. */
export interface WatchTarget {
  /** Label in front of the bar, e.g. the tenant. */
  label: string;
  jobId: string;
  client: ColaApiClient;
}

/** What watching a job ended with. */
export interface WatchResult {
  job: Job;
  events: JobEvent[];
}

/** Options of {@link watchJobs}. */
export interface WatchOptions {
  /** Poll period in ms. Default 500. */
  pollMs?: number;
  /** Where the bars and lines go. Default stdout. */
  stream?: NodeJS.WriteStream;
  /** Give up after this many ms. Default: never. */
  timeoutMs?: number;
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * Live progress bars (step, loss with a sparkline, bytes moved) for jobs, polled from the job
 * and events API until every job is final. On a non-TTY stream (logs, tests) it prints one
 * status line per job every few seconds instead of redrawing.
 */
export async function watchJobs(targets: readonly WatchTarget[], opts: WatchOptions = {}): Promise<WatchResult[]> {
  const stream = opts.stream ?? process.stdout;
  const tty = stream.isTTY === true;
  const width = Math.max(...targets.map((t) => t.label.length));
  const multi = tty
    ? new MultiBar(
        {
          format: '{label} |{bar}| {value}/{total} steps | loss {loss} {spark} | {bytes} moved | {status}',
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          stream,
          barsize: 24,
        },
        Presets.shades_classic,
      )
    : undefined;
  const state = targets.map((t) => ({
    target: t,
    events: [] as JobEvent[],
    after: undefined as string | undefined,
    losses: [] as number[],
    lastStep: 0,
    job: undefined as Job | undefined,
    bar: undefined as SingleBar | undefined,
  }));
  const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : Infinity;
  let lastLine = 0;
  try {
    for (;;) {
      for (const s of state) {
        if (s.job && FINAL.has(s.job.status)) continue;
        s.job = await s.target.client.getJob(s.target.jobId);
        const fresh = await s.target.client.allEvents(s.target.jobId, s.after);
        if (fresh.length) s.after = fresh[fresh.length - 1]!.id;
        s.events.push(...fresh);
        const p = s.job.progress;
        // The progress record has the latest step's loss; events come only every few steps.
        if (p && p.step > 0 && p.step !== s.lastStep) {
          s.lastStep = p.step;
          s.losses.push(p.loss);
        }
        const payload = {
          label: s.target.label.padEnd(width),
          loss: p ? p.loss.toFixed(4) : '  -   ',
          spark: sparkline(s.losses, 20).padEnd(20),
          bytes: formatBytes(p?.bytes_transferred ?? 0).padStart(9),
          status: s.job.status,
        };
        if (multi) {
          s.bar ??= multi.create(p?.total_steps || 1, 0, payload);
          s.bar.setTotal(p?.total_steps || 1);
          s.bar.update(p?.step ?? 0, payload);
        }
      }
      const done = state.every((s) => s.job && FINAL.has(s.job.status));
      if (!multi && (done || Date.now() - lastLine > 5000)) {
        lastLine = Date.now();
        for (const s of state) {
          const p = s.job?.progress;
          stream.write(
            `${s.target.label.padEnd(width)}  ${s.job?.status ?? '?'}  step ${p?.step ?? 0}/${p?.total_steps ?? '?'}  loss ${p ? p.loss.toFixed(4) : '-'} ${sparkline(s.losses, 20)}  ${formatBytes(p?.bytes_transferred ?? 0)} moved\n`,
          );
        }
      }
      if (done) break;
      if (Date.now() > deadline)
        throw new Error(
          `jobs still running after ${opts.timeoutMs} ms: ${state
            .filter((s) => !FINAL.has(s.job?.status ?? ''))
            .map((s) => s.target.jobId)
            .join(', ')}`,
        );
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    }
  } finally {
    multi?.stop();
  }
  return state.map((s) => ({ job: s.job!, events: s.events }));
}
