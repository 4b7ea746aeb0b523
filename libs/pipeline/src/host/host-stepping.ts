import { tf } from '@cola/gl';
import type { TaskBatch } from '@cola/train';
import type { HostContext } from './host-context';
import type { HostJob } from './host-job';
import type { HostLifecycle } from './host-lifecycle';
import type { HostPublishing } from './host-publishing';
import { runHostStep, type StepOutcome, type StepPart } from './host-step-runner';
import { TrainingDivergedError } from '../jobs/job-status';
import { jobErrorOf } from './job-error';
import { BackendAbortedError, isBackendAbort } from './backend-abort';
import { tapShape, type GptModel } from '@cola/model';

/** Bytes of the X and G one host step returns for a job's batch (fp32, every adapted tap). */
function resultBytes(model: GptModel, job: HostJob): number {
  const rows = job.options.batchSize * job.options.maxLength;
  let perRow = 0;
  for (const t of job.taps) {
    const { dIn, dOut } = tapShape(model.config, t);
    perRow += dIn + dOut;
  }
  return 4 * rows * perRow;
}

/**
 * Runs one host step for a group of jobs that share a head and a sequence length (a mixed
 * multi-tenant batch when there are several), finds the job at fault when it throws, records
 * the step's metrics and hands each outcome to publishing.
 */
export class HostStepping {
  private stepsRun = 0;
  private mixedSteps = 0;
  /** Jobs whose first mixed batch was logged (forgotten when they end). */
  private readonly mixedJobs = new Set<string>();

  constructor(
    private readonly ctx: HostContext,
    private readonly lifecycle: HostLifecycle,
    private readonly publishing: HostPublishing,
  ) {}

  /** Host steps run since start. */
  get steps(): number {
    return this.stepsRun;
  }

  /** Forgets a job that left the host. */
  forget(jobId: string): void {
    this.mixedJobs.delete(jobId);
  }

  /** One host step for a group of jobs that share a head and a sequence length. */
  async step(candidates: HostJob[]): Promise<void> {
    const { heads, model } = this.ctx;
    const t0 = performance.now();
    const parts: { job: HostJob; batch: TaskBatch }[] = [];
    for (const job of this.withinBudget(candidates)) {
      try {
        parts.push({ job, batch: job.takeBatch() });
      } catch (e) {
        await this.lifecycle.stopJob(job, 'failed', jobErrorOf(e));
      }
    }
    if (parts.length === 0) return;
    const group = parts.map((p) => p.job);
    const installed = group[0]!.headKey;
    heads.install(installed);
    // The other tenants' own classifier heads ride on their rows as a correction at `score`.
    const stepParts: StepPart[] = [];
    for (const p of parts) {
      const maxRows = await this.chunkRowsOf(p.job, p.batch);
      stepParts.push({
        batch: p.batch,
        aux: p.job.aux,
        taps: p.job.taps,
        headDelta: heads.correction(p.job.headKey, installed),
        maxRows,
      });
    }
    let outcomes: (StepOutcome | Error)[];
    try {
      outcomes = runHostStep(model, stepParts);
    } catch (e) {
      if (isBackendAbort(e)) throw new BackendAbortedError(e);
      // Find the job at fault: run each tenant alone on its own head (the failed step mutated nothing).
      outcomes =
        parts.length === 1
          ? [e as Error]
          : stepParts.map((p, k) => {
              try {
                heads.install(parts[k]!.job.headKey);
                return runHostStep(model, [{ ...p, headDelta: undefined }])[0]!;
              } catch (e2) {
                if (isBackendAbort(e2)) throw new BackendAbortedError(e2);
                return e2 as Error;
              }
            });
    } finally {
      for (const p of stepParts) if (p.headDelta) tf.dispose([p.headDelta.dW, p.headDelta.db]);
    }
    this.stepsRun++;
    const rows = parts.reduce((n, p) => n + p.batch.batch, 0);
    const ms = performance.now() - t0;
    this.recordStep(group, outcomes, ms);
    if (group.length > 1) this.noteMixed(group, rows, ms);
    this.ctx.events.emit('step', { jobIds: group.map((j) => j.jobId), rows, ms });
    for (let k = 0; k < parts.length; k++) {
      const job = parts[k]!.job;
      const out = outcomes[k]!;
      if (out instanceof Error) {
        await this.lifecycle.stopJob(job, 'failed', jobErrorOf(out));
        continue;
      }
      if (!Number.isFinite(out.loss)) {
        // Nothing of this step is published: its payload would carry the same non-finite values.
        await this.lifecycle.stopJob(
          job,
          'failed',
          jobErrorOf(new TrainingDivergedError(job.step + 1, `the training loss is ${out.loss}`)),
        );
        continue;
      }
      try {
        await this.publishing.absorb(job, out);
      } catch (e) {
        // Gram mode multiplies XᵀG on the backend too: an abort there is the host's, not the job's.
        if (isBackendAbort(e)) throw new BackendAbortedError(e);
        await this.lifecycle.stopJob(job, 'failed', jobErrorOf(e));
      }
    }
  }

  /**
   * Rows of each chunk of a job's step, asked before each chunk: what fits the memory budget
   * beside the tensors live then, leaving room to join the tenant's X and G at the end, under the
   * configured cap.
   */
  async chunkRowsOf(job: HostJob, batch: TaskBatch): Promise<() => number> {
    const perRow = await this.ctx.budget.bytesPerRow(batch.labels ? 'cls' : 'lm', batch.seqLen, job.taps);
    const reserve = resultBytes(this.ctx.model, job);
    return () => this.chunkRows(perRow, reserve);
  }

  private chunkRows(perRow: number, reserve: number): number {
    const fit = this.ctx.budget.rowsFor(perRow, reserve);
    const cap = this.ctx.opts.maxRowsPerChunk;
    return cap > 0 ? Math.min(cap, fit) : fit;
  }

  /**
   * The leader, and the other tenants of the group whose step results fit the budget together:
   * a mixed step holds every tenant's X and G until it ends (twice over while a tenant's chunks
   * are joined), so half of what is free bounds their sum. The tenants left out stay ready and
   * lead or join a later step.
   */
  private withinBudget(candidates: HostJob[]): HostJob[] {
    if (candidates.length <= 1) return candidates;
    const room = this.ctx.budget.freeBytes() / 2;
    const out: HostJob[] = [];
    let used = 0;
    for (const job of candidates) {
      const bytes = 2 * resultBytes(this.ctx.model, job);
      if (out.length > 0 && used + bytes > room) continue;
      out.push(job);
      used += bytes;
    }
    return out;
  }

  /**
   * Step metrics: forward/backward/step time, batches, tokens and loss per (bounded) tenant, and
   * how many versions behind each tenant's aux was (its fit tasks in flight; at most K by design).
   */
  private recordStep(jobs: HostJob[], outcomes: (StepOutcome | Error)[], ms: number): void {
    const m = this.ctx.metrics;
    m.counter('hostSteps').inc();
    m.observeMs('hostStepSeconds', ms);
    const first = outcomes.find((o): o is StepOutcome => !(o instanceof Error));
    if (first) {
      m.observeMs('hostForwardSeconds', first.timings.forwardMs);
      m.observeMs('hostBackwardSeconds', first.timings.backwardMs);
    }
    let tokens = 0;
    jobs.forEach((job, k) => {
      const out = outcomes[k];
      if (!out || out instanceof Error) return;
      const tenant = m.tenant(job.tenantId);
      tokens += out.tokens;
      m.counter('hostBatches').inc({ tenant });
      m.counter('hostTokens').inc({ tenant }, out.tokens);
      m.gauge('trainingLoss').set({ tenant }, out.loss);
      m.histogram('hostStaleness').observe(job.inFlight);
      if (job.inFlight > job.staleness) m.counter('hostStalenessOverBound').inc();
    });
    if (ms > 0) m.gauge('trainingTokensPerSecond').set((tokens * 1000) / ms);
    this.lifecycle.recordActive();
  }

  /** Logs a job's first mixed batch at info (then every 100th at debug), so the log shows mixing happens. */
  private noteMixed(group: HostJob[], rows: number, ms: number): void {
    const fields = { tenants: group.length, jobs: group.map((j) => j.jobId), rows, ms: Math.round(ms) };
    this.mixedSteps++;
    const first = group.filter((j) => !this.mixedJobs.has(j.jobId));
    for (const j of first) this.mixedJobs.add(j.jobId);
    if (first.length)
      this.ctx.opts.log('info', `mixed batch: ${group.length} tenants in one host step (${group.map((j) => j.jobId).join(', ')})`, fields);
    else if (this.mixedSteps % 100 === 0) this.ctx.opts.log('debug', `mixed batches: ${this.mixedSteps} so far`, fields);
  }
}
