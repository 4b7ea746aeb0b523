import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { FINAL_STATUSES, type JobStatus } from '../jobs/job-status';
import type { JobsQueueData } from '../queues/jobs-queue-data';
import { validateAuxPublishedData } from '../queues/aux-published-data';
import type { HostAuxVersions } from './host-aux-versions';
import type { HostContext } from './host-context';
import type { HostJobResult, JobEnd } from './host-events';
import type { HostJob } from './host-job';
import type { HostLifecycle } from './host-lifecycle';
import { jobErrorOf } from './job-error';
import { admitJob } from './job-admission';
import type { JobOpening } from './job-opening';

/**
 * The gpu-host's BullMQ processors. A `jobs` entry is marked running, opened and registered
 * with the scheduler; the processor then only waits for the job to leave the host (the loop
 * does all the work). An "aux published" entry reloads that job's aux version.
 */
export class JobIntake {
  /** Jobs told they wait for memory (told once). */
  private readonly waiting = new Set<string>();

  constructor(
    private readonly ctx: HostContext,
    private readonly opening: JobOpening,
    private readonly lifecycle: HostLifecycle,
    private readonly auxVersions: HostAuxVersions,
  ) {}

  /** Processor of `QUEUES.jobs`. */
  async processJob(bullJob: Job<JobsQueueData, HostJobResult>, token: string | undefined): Promise<HostJobResult> {
    const { ctx } = this;
    const jobId = bullJob.data?.jobId;
    if (typeof jobId !== 'string' || !jobId) throw new UnrecoverableError(`jobs queue entry ${bullJob.id} has no jobId in its data`);
    const requeue = async (): Promise<never> => {
      await bullJob.moveToWait(token);
      throw new WaitingError();
    };
    if (ctx.closing || ctx.fatal) return requeue();
    const running = ctx.active.get(jobId);
    if (running) {
      // Redelivered while this host still trains it (a lock lost to a long block): the running
      // instance goes on; this delivery just reports how it ends.
      ctx.opts.log('warn', 'job delivered again while active here; waiting for the running instance', { jobId });
      const status = await running.ended;
      if (status === 'requeued') return requeue();
      return { status };
    }
    const { jobStore } = ctx.conn;
    const record = await jobStore.get(jobId);
    if (!record) {
      ctx.opts.log('warn', 'job record not found; dropping the queue entry', { jobId });
      return { status: 'missing' };
    }
    if (FINAL_STATUSES.has(record.status)) return { status: record.status };
    if (record.status === 'queued') {
      const admission = await admitJob(ctx.model, ctx.budget, record, ctx.active.size);
      if (!admission.ok) {
        // Not enough host memory beside the jobs it trains: the job stays queued and comes back later.
        if (!this.waiting.has(jobId)) {
          this.waiting.add(jobId);
          ctx.opts.log('info', `job ${jobId} ${admission.reason}`, { jobId });
          await this.lifecycle.event(jobId, 'info', `Queued: ${admission.reason}`);
        }
        await bullJob.moveToDelayed(Date.now() + ctx.opts.pollMs * 4, token);
        throw new DelayedError();
      }
      this.waiting.delete(jobId);
    }
    const marked = await jobStore.transition(jobId, 'running', 'gpu-host');
    if (marked.from === 'cancelling') {
      await jobStore.transition(jobId, 'cancelled', 'gpu-host');
      await this.lifecycle.event(jobId, 'info', 'Job cancelled before it started');
      return { status: 'cancelled' };
    }
    if (!marked.changed) return { status: marked.from ?? 'missing' };
    let job: HostJob;
    try {
      job = await this.opening.open(record);
    } catch (e) {
      const error = jobErrorOf(e);
      ctx.opts.log(error.code === 'internal_error' ? 'error' : 'warn', `job ${jobId} cannot start: ${error.message}`, {
        jobId,
        code: error.code,
      });
      const ended = await jobStore.fail(jobId, 'gpu-host', error);
      if (ended === 'cancelled') await this.lifecycle.event(jobId, 'info', 'Job cancelled before it started');
      const status: JobStatus = ended ?? (await jobStore.status(jobId)) ?? 'failed';
      ctx.events.emit('ended', status === 'failed' ? { jobId, status, error } : { jobId, status: status as JobEnd });
      return { status };
    }
    if (ctx.closing || ctx.fatal) {
      ctx.heads.release(job.headKey);
      job.dispose();
      return requeue();
    }
    if (ctx.active.has(jobId)) {
      // Another delivery registered it while this one was opening it.
      ctx.heads.release(job.headKey);
      job.dispose();
      const status = await ctx.active.get(jobId)!.ended;
      return status === 'requeued' ? requeue() : { status };
    }
    let resolveEnd!: (end: JobEnd) => void;
    const end = new Promise<JobEnd>((resolve) => (resolveEnd = resolve));
    ctx.active.set(jobId, { job, resolve: resolveEnd, ended: end, auxChain: Promise.resolve(), lastEventStep: job.step });
    ctx.scheduler.add(job);
    this.lifecycle.recordActive();
    ctx.events.emit('started', { jobId, step: job.step, nextSeq: job.nextSeq, auxVersion: job.auxVersion, numTasks: job.numTasks });
    ctx.wake();
    const status = await end;
    if (status === 'requeued') return requeue();
    return { status };
  }

  /** Processor of `QUEUES.auxPublishedHost`. */
  async processAuxPublished(bullJob: Job): Promise<void> {
    let data;
    try {
      data = validateAuxPublishedData(bullJob.data);
    } catch (e) {
      throw new UnrecoverableError((e as Error).message);
    }
    // Another host's job, or one that ended: its next start reads the store head anyway.
    if (!this.ctx.active.has(data.jobId)) return;
    await this.auxVersions.refresh(data.jobId, data.version);
  }
}
