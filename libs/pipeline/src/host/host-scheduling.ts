import { BackendAbortedError } from './backend-abort';
import type { HostAuxVersions } from './host-aux-versions';
import type { HostContext } from './host-context';
import type { HostJob } from './host-job';
import type { HostLifecycle } from './host-lifecycle';
import type { HostRepublishing } from './host-republishing';
import type { HostStepping } from './host-stepping';

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The gpu-host's one scheduler loop: polls statuses and aux heads, completes trained jobs, picks
 * the next group of ready jobs round-robin (holding it for the mix window when another tenant
 * of the same head is about to be ready) and runs its host step. Everything that computes or
 * changes a job's state runs here, so no two steps, head loads or evaluations interleave.
 */
export class HostScheduling {
  private lastPoll = 0;

  constructor(
    private readonly ctx: HostContext,
    private readonly stepping: HostStepping,
    private readonly lifecycle: HostLifecycle,
    private readonly auxVersions: HostAuxVersions,
    private readonly republishing: HostRepublishing,
  ) {}

  /** Runs until the host closes or its backend aborts, then hands every active job back (`requeued`). */
  async run(): Promise<void> {
    const { ctx } = this;
    while (!ctx.closing) {
      try {
        await this.pollIfDue();
        await this.lifecycle.finishTrainedJobs();
        let group = ctx.paused ? [] : ctx.scheduler.pick();
        if (group.length === 0) {
          await ctx.signal.idle(ctx.opts.pollMs);
          continue;
        }
        if (this.joinableSoon(group)) {
          // Wait briefly (woken early by a new aux version) and pick again, so the tenants share it.
          await ctx.signal.idle(ctx.opts.mixWindowMs);
          group = ctx.scheduler.pick();
          if (group.length === 0) continue;
        }
        await this.stepping.step(group);
        // Let BullMQ renew locks and the aux worker deliver versions between steps.
        await yieldToEventLoop();
      } catch (e) {
        if (e instanceof BackendAbortedError) {
          // Every later step would fail too: stop, hand the jobs back, let the process restart.
          ctx.fatal = e.message;
          ctx.opts.log('error', `${e.message}; handing ${ctx.active.size} job(s) back to the queue`);
          break;
        }
        ctx.opts.log('error', `scheduler loop: ${(e as Error).message}`, { stack: (e as Error).stack });
        await ctx.signal.idle(ctx.opts.pollMs);
      }
    }
    for (const { job } of [...ctx.active.values()]) await this.lifecycle.stopJob(job, 'requeued');
  }

  /**
   * True when a job of the group's head is only waiting for its next aux version and would fit
   * in the group: then the step is worth holding for up to `mixWindowMs`.
   */
  private joinableSoon(group: readonly HostJob[]): boolean {
    const { opts, active } = this.ctx;
    if (opts.mixWindowMs === 0 || group.length >= opts.maxTenantsPerBatch) return false;
    const key = group[0]!.packKey;
    return [...active.values()].some(
      ({ job }) => job.packKey === key && !group.includes(job) && !job.ready && job.inFlight > 0 && job.nextSeq < job.numTasks,
    );
  }

  /** Status polls (cancel, failure elsewhere) and head polls for jobs waiting on a version. */
  private async pollIfDue(): Promise<void> {
    const { opts, active } = this.ctx;
    if (Date.now() - this.lastPoll < opts.pollMs) return;
    this.lastPoll = Date.now();
    const { jobStore, auxStore } = this.ctx.conn;
    for (const entry of [...active.values()]) {
      const job = entry.job;
      if (job.stopReason) continue;
      const status = await jobStore.status(job.jobId);
      if (status === 'cancelling') {
        await this.lifecycle.stopJob(job, 'cancelled');
        continue;
      }
      if (status !== 'running') {
        // Failed by a trainer (bad payload), cancelled or deleted elsewhere: stop without
        // overwriting what was recorded.
        await this.lifecycle.stopJob(job, status === 'cancelled' ? 'cancelled' : 'failed', undefined, { recorded: true });
        continue;
      }
      if (!job.ready && job.inFlight > 0) {
        // A missed "aux published" (consumed by another host, or lost) must not stall the job.
        const head = await auxStore.head(job.jobId);
        if (head !== null && head > job.auxVersion)
          await this.auxVersions
            .refresh(job.jobId, head)
            .catch((e: unknown) => opts.log('warn', `aux reload: ${(e as Error).message}`, { jobId: job.jobId }));
        // Nor may a payload that expired before a trainer read it: the trainer asked for it again.
        else await this.republishing.serve(job);
      }
    }
  }
}
