import type { JobError } from '../jobs/job-status';
import type { HostContext } from './host-context';
import type { JobEnd } from './host-events';
import type { HostJob, StopReason } from './host-job';
import { jobErrorOf } from './job-error';
import { BackendAbortedError, isBackendAbort } from './backend-abort';
import { JobValidation } from './job-validation';

/**
 * How jobs leave the gpu-host and what it writes about them: progress, events, the final
 * evaluation and `succeeded`, `failed` / `cancelled` with their queued fit tasks withdrawn, or
 * `requeued` for the host that resumes them.
 */
export class HostLifecycle {
  /** The job's validation curve: before training, every `validation_every` steps, at the end. */
  readonly validation: JobValidation;

  constructor(private readonly ctx: HostContext) {
    this.validation = new JobValidation(ctx);
  }

  /** Completes every job whose last fit task came back; a failure fails that job only. */
  async finishTrainedJobs(): Promise<void> {
    for (const { job } of [...this.ctx.active.values()]) {
      if (!job.trained) continue;
      try {
        await this.completeJob(job);
      } catch (e) {
        if (isBackendAbort(e)) throw new BackendAbortedError(e);
        await this.stopJob(job, 'failed', jobErrorOf(e));
      }
    }
  }

  /** Final evaluation on the validation file, the result, the last checkpoint, `succeeded`. */
  async completeJob(job: HostJob): Promise<void> {
    const { jobStore } = this.ctx.conn;
    this.ctx.scheduler.remove(job.jobId);
    const version = job.auxVersion;
    let message = 'Training finished';
    if (job.data.evalSize > 0) {
      const result = await this.validation.score(job, version);
      await jobStore.setEval(job.jobId, result);
      await this.validation.record(job.jobId, job.step, result, 'final');
      message += `; validation ${result.metric} ${result.value.toFixed(4)} over ${result.count} ${result.metric === 'accuracy' ? 'examples' : 'tokens'}`;
    }
    await jobStore.setProgress(job.jobId, {
      step: job.step,
      auxVersion: version,
      seq: job.nextSeq,
      tokens: job.tokens,
      bytes: job.bytes,
    });
    // A cancel that arrived while the job was being evaluated wins: it ends `cancelled`.
    const ended = await jobStore.finish(job.jobId, 'succeeded', 'gpu-host');
    await this.retire(job.jobId);
    if (ended === 'succeeded') {
      await this.event(job.jobId, 'info', message);
      this.end(job, 'succeeded');
    } else {
      if (ended === 'cancelled') await this.event(job.jobId, 'info', `Job cancelled at step ${job.step}, after its last batch`);
      this.end(job, ended === 'cancelled' ? 'cancelled' : 'failed');
    }
  }

  /**
   * Takes a job off the host. `cancelled` and `failed` withdraw its queued fit tasks and delete
   * their payloads, and record the status (unless `recorded`: another service already did);
   * `requeued` leaves everything in place for the host that resumes it.
   */
  async stopJob(job: HostJob, reason: StopReason, error?: JobError, opts: { recorded?: boolean } = {}): Promise<void> {
    if (job.stopReason) return;
    job.stopReason = reason;
    this.ctx.scheduler.remove(job.jobId);
    job.clearBuffers();
    let endedAs: StopReason = reason;
    try {
      if (reason !== 'requeued') {
        const { publisher, jobStore } = this.ctx.conn;
        const withdrawn = await publisher.withdraw(job.jobId, job.auxVersion, job.nextSeq);
        await this.retire(job.jobId);
        if (!opts.recorded) {
          const ended = await jobStore.finish(job.jobId, reason, 'gpu-host', error);
          if (ended === 'cancelled') endedAs = 'cancelled';
          const what = ended === 'cancelled' ? 'Job cancelled' : `Job failed: ${error?.message ?? 'unknown reason'}`;
          if (ended)
            await this.event(
              job.jobId,
              ended === 'cancelled' ? 'info' : 'error',
              `${what} at step ${job.step}; ${withdrawn} queued fit task(s) withdrawn`,
            );
        }
        this.ctx.opts.log(reason === 'failed' ? 'warn' : 'info', `job ${job.jobId} ${reason}`, {
          jobId: job.jobId,
          step: job.step,
          code: error?.code,
          withdrawn,
        });
      }
    } catch (e) {
      this.ctx.opts.log('error', `stopping job ${job.jobId}: ${(e as Error).message}`, { jobId: job.jobId });
    } finally {
      this.end(job, endedAs, endedAs === 'failed' ? error : undefined);
    }
  }

  /**
   * A finished job keeps only its head version (what its adapter export and serving read) and its
   * checkpoints; the superseded versions go now instead of after their TTL, so Redis memory
   * returns to its baseline when jobs end.
   */
  private async retire(jobId: string): Promise<void> {
    try {
      await this.ctx.conn.auxStore.prune?.(jobId, 1);
      await this.ctx.conn.republish.delete(jobId);
    } catch (e) {
      this.ctx.opts.log('warn', `pruning the aux versions of job ${jobId}: ${(e as Error).message}`, { jobId });
    }
  }

  /** Unregisters a job, releases its head and tensors and settles its processor. */
  end(job: HostJob, status: JobEnd, error?: JobError): void {
    const { active, scheduler, heads, events } = this.ctx;
    const entry = active.get(job.jobId);
    if (entry?.job !== job) return;
    active.delete(job.jobId);
    this.validation.forget(job.jobId);
    this.onEnd?.(job.jobId);
    this.recordActive();
    scheduler.remove(job.jobId);
    heads.release(job.headKey);
    job.dispose();
    entry.resolve(status);
    events.emit('ended', error ? { jobId: job.jobId, status, error } : { jobId: job.jobId, status });
  }

  /** Called with the job id whenever a job leaves the host (the stepping part forgets it). */
  onEnd: ((jobId: string) => void) | undefined;

  /** The job's progress, and a progress event every `eventEvery` steps and at the last one. */
  async recordProgress(job: HostJob): Promise<void> {
    const { jobStore } = this.ctx.conn;
    await jobStore.setProgress(job.jobId, {
      step: job.step,
      epoch: job.cursor.epoch,
      seq: job.nextSeq,
      tokens: job.tokens,
      loss: job.lastLoss,
      bytes: job.bytes,
    });
    const entry = this.ctx.active.get(job.jobId);
    const last = job.step >= job.numTasks * job.options.interval;
    if (entry && (job.step - entry.lastEventStep >= this.ctx.opts.eventEvery || last)) {
      entry.lastEventStep = job.step;
      await jobStore.appendEvent(job.jobId, {
        level: 'info',
        message: `Step ${job.step}/${job.totalBatches}: training loss=${job.lastLoss.toFixed(4)}`,
        metrics: { step: job.step, loss: job.lastLoss, tokens: job.tokens, bytes: job.bytes },
      });
    }
    await this.validation.maybeScore(job);
  }

  /** Active jobs and the largest staleness bound among them. */
  recordActive(): void {
    const jobs = [...this.ctx.active.values()].map((e) => e.job);
    this.ctx.metrics.gauge('hostActiveJobs').set(jobs.length);
    this.ctx.metrics.gauge('hostStalenessBound').set(jobs.reduce((k, j) => Math.max(k, j.staleness), 0));
  }

  /** Appends an event to the job's stream; a failure to record it is logged, never thrown. */
  async event(jobId: string, level: 'info' | 'warn' | 'error', message: string): Promise<void> {
    try {
      await this.ctx.conn.jobStore.appendEvent(jobId, { level, message });
    } catch (e) {
      this.ctx.opts.log('warn', `event not recorded: ${(e as Error).message}`, { jobId });
    }
  }
}
