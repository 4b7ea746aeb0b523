import { TRANSFER_DIRECTIONS } from '@cola/config';
import type { HostContext } from './host-context';
import type { HostJob } from './host-job';
import type { HostLifecycle } from './host-lifecycle';
import type { StepOutcome } from './host-step-runner';

/**
 * After a host step, per job: buffers its adaptation data over the interval, publishes a fit
 * task when the interval is full (with its encode/write metrics) and records the progress.
 */
export class HostPublishing {
  constructor(
    private readonly ctx: HostContext,
    private readonly lifecycle: HostLifecycle,
  ) {}

  /** Absorbs one step's outcome into the job; throws what the job should fail with. */
  async absorb(job: HostJob, out: StepOutcome): Promise<void> {
    const payload = job.absorb(out);
    if (job.transfer.mode === 'gram') this.ctx.metrics.observeMs('hostGramSeconds', job.lastGramMs);
    if (payload) {
      const report = await this.ctx.conn.publisher.publish(job, payload);
      job.bytes += report.bytes;
      const transfer = { mode: job.transfer.mode, dtype: job.transfer.dtype };
      const m = this.ctx.metrics;
      m.observeMs('hostEncodeSeconds', report.encodeMs, transfer);
      m.observeMs('hostWriteSeconds', report.writeMs, transfer);
      m.counter('transferWrittenBytes').inc({ direction: TRANSFER_DIRECTIONS.hostToTrainer, ...transfer }, report.bytes);
      m.counter('hostFitTasks').inc(transfer);
      this.ctx.events.emit('published', { jobId: job.jobId, seq: payload.seq, auxVersion: payload.auxVersion, ...report });
    }
    await this.lifecycle.recordProgress(job);
  }
}
