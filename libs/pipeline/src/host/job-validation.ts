import { SCORE_TAP } from '@cola/model';
import type { EvalResult } from '@cola/train';
import { validationInterval } from '../jobs/job-spec';
import { decodeJobAuxState } from '../state/job-aux-state';
import { evaluateInChunks } from './chunked-evaluation';
import type { HostContext } from './host-context';
import type { HostJob } from './host-job';

/**
 * The validation curve of a job: the starting model's score before training (step 0: the seeded
 * head for classification, the base model for causal LM, i.e. aux version 0), a score every
 * `validation_every` steps with the newest aux version, and the final score (the lifecycle's).
 * Each is a job event with `{ step, validation }`; the "before" score is also kept next to the
 * final result, so the API shows both in the same metric.
 */
export class JobValidation {
  private readonly due = new Map<string, { every: number; last: number }>();

  constructor(private readonly ctx: HostContext) {}

  /** Scores the job's validation file with the given aux version (its parameters only). */
  async score(job: HostJob, version: number): Promise<EvalResult> {
    const { model, heads, opts } = this.ctx;
    const o = job.options;
    const { adapters } = decodeJobAuxState(await this.ctx.conn.auxStore.load(job.jobId, version), { paramsOnly: true });
    try {
      // A forward pass takes at most what a host step of as many rows takes: the step's rows per chunk bound it.
      // (The LM head's row costs at least the classifier's: its logits are per token.)
      const blockTaps = job.taps.filter((t) => t !== SCORE_TAP);
      const maxRows = blockTaps.length ? await this.ctx.budget.rowsPerChunk('lm', o.maxLength, blockTaps) : undefined;
      return await evaluateInChunks(model, job.data.evaluation({ batchSize: o.batchSize, maxLength: o.maxLength }), {
        adapters,
        merged: o.merged,
        rowsPerYield: opts.evalRowsPerYield,
        maxRows,
        prepare: () => heads.install(job.headKey),
      });
    } finally {
      adapters.dispose();
    }
  }

  /** Registers a job that just opened and scores the starting model once (not again on a resume). */
  async open(job: HostJob, every: number | undefined): Promise<void> {
    this.due.set(job.jobId, { every: validationInterval(every, job.totalBatches), last: job.step });
    if (job.data.evalSize === 0) return;
    const { jobStore } = this.ctx.conn;
    const stored = await jobStore.eval(job.jobId);
    if (stored?.before !== undefined && stored.before !== null) return;
    const r = await this.score(job, 0);
    await jobStore.setEvalBefore(job.jobId, r);
    await this.record(job.jobId, 0, r, 'before training (the starting model)');
  }

  /** Scores the newest aux version when the job has passed its next validation step. */
  async maybeScore(job: HostJob): Promise<void> {
    const d = this.due.get(job.jobId);
    if (!d || job.data.evalSize === 0 || job.trained) return;
    if (job.step - d.last < d.every) return;
    d.last = job.step;
    await this.record(job.jobId, job.step, await this.score(job, job.auxVersion), `aux version ${job.auxVersion}`);
  }

  /** Appends the event of one evaluation. */
  async record(jobId: string, step: number, r: EvalResult, what: string): Promise<void> {
    await this.ctx.conn.jobStore.appendEvent(jobId, {
      level: 'info',
      message: `Validation at step ${step} (${what}): ${r.metric} ${r.value.toFixed(4)} over ${r.count} ${r.metric === 'accuracy' ? 'examples' : 'tokens'}`,
      metrics: { step, validation: r.value },
    });
  }

  forget(jobId: string): void {
    this.due.delete(jobId);
  }
}
