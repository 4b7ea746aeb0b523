import { STATE_TRANSFER, TRANSFER_DIRECTIONS } from '@cola/config';
import type { ActiveEntry, HostContext } from './host-context';
import type { HostJob } from './host-job';
import { JobAux } from './job-aux';

/**
 * Loads the aux versions the trainers publish into the jobs that wait for them (serialised per
 * job, older versions ignored) and saves a checkpoint at each epoch's end and at the last one.
 */
export class HostAuxVersions {
  constructor(private readonly ctx: HostContext) {}

  /** Loads a newer aux version of a job (serialised per job; older versions are ignored). */
  refresh(jobId: string, version: number): Promise<void> {
    const entry = this.ctx.active.get(jobId);
    if (!entry) return Promise.resolve();
    const run = entry.auxChain.then(() => this.load(entry, version));
    entry.auxChain = run.catch(() => undefined);
    return run;
  }

  private async load(entry: ActiveEntry, version: number): Promise<void> {
    const job = entry.job;
    if (version <= job.auxVersion || job.stopReason) return;
    const { auxStore, jobStore } = this.ctx.conn;
    const bytes = await auxStore.load(job.jobId, version);
    this.ctx.metrics
      .counter('transferReadBytes')
      .inc({ direction: TRANSFER_DIRECTIONS.trainerToHost, ...STATE_TRANSFER }, bytes.byteLength);
    if (this.ctx.active.get(job.jobId) !== entry || job.stopReason) return;
    const previous = job.auxVersion;
    if (!job.offerAux(JobAux.fromBytes(bytes, { merged: job.options.merged }))) return;
    await this.maybeCheckpoint(job, previous, version, bytes);
    await jobStore.setProgress(job.jobId, { auxVersion: version });
    this.ctx.events.emit('aux', { jobId: job.jobId, version });
    this.ctx.wake();
  }

  /** A checkpoint at the end of every epoch and at the end of training. */
  private async maybeCheckpoint(job: HostJob, from: number, to: number, bytes: Uint8Array): Promise<void> {
    const I = job.options.interval;
    const perEpoch = job.cursor.perEpoch;
    const epochOf = (v: number): number => Math.floor((v * I) / perEpoch);
    if (to === job.numTasks || epochOf(to) > epochOf(from)) await this.ctx.conn.checkpoints.save(job.jobId, to * I, bytes);
  }
}
