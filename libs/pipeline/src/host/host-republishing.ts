import { AuxStateMissingError, type RepublishRequest } from '@cola/store';
import { BackendAbortedError, isBackendAbort } from './backend-abort';
import { BatchCursor } from './batch-cursor';
import type { HostContext } from './host-context';
import { HostJob, type FitPayload } from './host-job';
import type { HostLifecycle } from './host-lifecycle';
import type { HostStepping } from './host-stepping';
import { runHostStep } from './host-step-runner';
import { JobAux } from './job-aux';

/**
 * Publishes a fit task again when its payload expired before an aux-trainer read it (a backlog
 * that outlived the payload TTL). The task is still queued and nothing of it was applied, so the
 * host recomputes its I batches from the job's data (the same batches: the cursor is
 * deterministic), with the aux version the original used when it is still stored, and stores the
 * payload under a new key; the waiting task then reads that, and its batch is applied once.
 */
export class HostRepublishing {
  constructor(
    private readonly ctx: HostContext,
    private readonly stepping: HostStepping,
    private readonly lifecycle: HostLifecycle,
  ) {}

  /** Answers the job's open re-publication requests; returns how many it published. */
  async serve(job: HostJob): Promise<number> {
    const { republish, auxStore } = this.ctx.conn;
    let n = 0;
    for (const r of await republish.pending(job.jobId)) {
      if (job.stopReason) break;
      // Only tasks this host published (or resumed as in flight) and the head has not passed.
      const head = await auxStore.head(job.jobId);
      if (r.seq >= job.nextSeq || head === null || head > r.seq) {
        await republish.clear(job.jobId, r.seq);
        continue;
      }
      await this.republish(job, r, head);
      n++;
    }
    return n;
  }

  private async republish(job: HostJob, r: RepublishRequest, head: number): Promise<void> {
    const { auxStore, publisher, republish } = this.ctx.conn;
    const I = job.options.interval;
    let bytes: Uint8Array;
    try {
      bytes = await auxStore.load(job.jobId, r.auxVersion);
    } catch (e) {
      // The original's version is gone (retention): the head is the freshest valid choice, and
      // the task's trainer checks the payload against the version it names.
      if (!(e instanceof AuxStateMissingError)) throw e;
      bytes = await auxStore.load(job.jobId, head);
    }
    const aux = JobAux.fromBytes(bytes, { merged: job.options.merged });
    const o = job.options;
    const replay = new HostJob({
      jobId: job.jobId,
      tenantId: job.tenantId,
      options: o,
      transfer: job.transfer,
      staleness: 1,
      data: job.data,
      cursor: new BatchCursor(job.data, {
        batchSize: o.batchSize,
        maxLength: o.maxLength,
        seed: o.seed,
        total: job.totalBatches,
        start: r.seq * I,
      }),
      headKey: job.headKey,
      taps: [...job.taps],
      numTasks: r.seq + 1,
      totalBatches: job.totalBatches,
      nextSeq: r.seq,
      aux,
      tokens: 0,
      bytes: 0,
    });
    try {
      let payload: FitPayload | undefined;
      while (!payload) {
        const batch = replay.takeBatch();
        this.ctx.heads.install(job.headKey);
        const maxRows = await this.stepping.chunkRowsOf(job, batch);
        let out;
        try {
          out = runHostStep(this.ctx.model, [{ batch, aux: replay.aux, taps: replay.taps, maxRows }])[0]!;
        } catch (e) {
          if (isBackendAbort(e)) throw new BackendAbortedError(e);
          throw e;
        }
        payload = replay.absorb(out);
      }
      const auxVersion = payload.auxVersion;
      const stored = await publisher.republish(job, payload, r.attempt);
      await republish.publish(
        job.jobId,
        { key: stored.key, size: stored.size, sha256: stored.sha256, seq: r.seq, auxVersion, attempt: r.attempt },
        r.requestedAtMs,
      );
      await this.lifecycle.event(
        job.jobId,
        'warn',
        `Fit task ${r.seq}'s payload expired before an aux-trainer read it; its ${I} batch(es) from step ${r.seq * I} were computed ` +
          `again with aux version ${auxVersion} and published again (attempt ${r.attempt})`,
      );
      this.ctx.events.emit('republished', { jobId: job.jobId, seq: r.seq, auxVersion, attempt: r.attempt, bytes: stored.size });
      this.ctx.opts.log('warn', `republished fit task ${r.seq} of job ${job.jobId}`, {
        jobId: job.jobId,
        seq: r.seq,
        auxVersion,
        attempt: r.attempt,
      });
    } finally {
      replay.dispose();
    }
  }
}
