import { LinearSchedule } from '@cola/gl';
import { resolveTaps } from '@cola/model';
import { createRunAdapters } from '@cola/train';
import { JsonlError } from '@cola/data';
import { validateJobSpec } from '../jobs/job-spec';
import type { JobRecord } from '../jobs/job-store';
import { readUpload } from '../jobs/uploads';
import { encodeJobAuxState } from '../state/job-aux-state';
import { BatchCursor } from './batch-cursor';
import { LM_HEAD } from './classifier-heads';
import type { HostContext } from './host-context';
import { HostJob } from './host-job';
import type { HostLifecycle } from './host-lifecycle';
import { JobAux } from './job-aux';
import { resolveJobTransfer } from '../transfer/job-transfer';
import { buildJobTaskData, JobDataError } from './job-task-data';
import { hostInputTokenCap, resolveJobAuto } from './job-auto';

/**
 * Opens a job on the gpu-host, fresh or resumed: reads its spec and files, sets up its data,
 * classifier head, learning-rate schedule and aux state (version 0 when it has none), and finds
 * the resume point from the aux store's head and the fit tasks still in flight.
 */
export class JobOpening {
  constructor(
    private readonly ctx: HostContext,
    private readonly lifecycle: HostLifecycle,
  ) {}

  /** Reads the spec and files, sets up data, head, schedule and aux, and finds the resume point. */
  async open(record: JobRecord): Promise<HostJob> {
    const { model, heads } = this.ctx;
    const { redis, auxStore, publisher, jobStore } = this.ctx.conn;
    const v = validateJobSpec(record.spec);
    const jobId = record.jobId;
    const train = await readUpload(redis, v.spec.trainingFileId).catch((e: unknown) => {
      throw e instanceof JsonlError ? e : new JobDataError('training_file', (e as Error).message);
    });
    const validation = v.spec.validationFileId
      ? await readUpload(redis, v.spec.validationFileId).catch((e: unknown) => {
          throw new JobDataError('validation_file', (e as Error).message);
        })
      : null;
    // `auto` values are chosen from the training file and the host's memory, the same way on every (re)start.
    const context = model.config.nPositions;
    const auto = resolveJobAuto(v, train, context, await hostInputTokenCap(this.ctx.budget, model.config, v.options.targetModules));
    const o = auto.options;
    const data = buildJobTaskData(v, train, validation, auto.maxWindows);
    await jobStore.setResolved(jobId, auto.resolved);
    const headKey = v.task === 'classification' ? heads.acquire(data.labels.length, o.seed) : LM_HEAD;
    try {
      // Same taps and order as createRunAdapters, with the job's head on the model.
      const taps = resolveTaps(model.config, o.targetModules);
      const perEpoch = data.train({ batchSize: o.batchSize, maxLength: o.maxLength, seed: o.seed, epoch: 0 }).numBatches;
      const totalBatches = Math.min(perEpoch * o.epochs, o.maxSteps ?? Infinity);
      const numTasks = Math.floor(totalBatches / o.interval);
      // Exactly finetune's schedule: one optimizer step per fit task, at least one.
      const schedule = new LinearSchedule({ peakLr: o.optimizer.lr, totalSteps: Math.max(1, numTasks), warmupFraction: o.warmupFraction });
      let head = await auxStore.head(jobId);
      if (head === null) {
        const adapters = createRunAdapters(model, o);
        let bytes: Uint8Array;
        try {
          bytes = encodeJobAuxState(adapters, {
            jobId,
            version: 0,
            schedule: { peakLr: schedule.peakLr, totalSteps: schedule.totalSteps, warmupSteps: schedule.warmupSteps },
            clipNorm: o.clipNorm,
          });
        } finally {
          adapters.dispose();
        }
        await auxStore.init(jobId, bytes);
        head = (await auxStore.head(jobId)) ?? 0;
      }
      const aux = JobAux.fromBytes(await auxStore.load(jobId, head), { merged: o.merged });
      try {
        // Tasks past the head still queued or running are in flight: resume after their data.
        const nextSeq = head + (await publisher.pendingFrom(jobId, head, numTasks));
        const cursor = new BatchCursor(data, {
          batchSize: o.batchSize,
          maxLength: o.maxLength,
          seed: o.seed,
          total: totalBatches,
          start: Math.min(totalBatches, nextSeq * o.interval),
        });
        const before = await jobStore.progress(jobId);
        // Sized with the resolved `auto` values: the batch and length the job really runs with.
        const choice = resolveJobTransfer(this.ctx.model.config, { ...v, options: o }, taps);
        const job = new HostJob({
          jobId,
          tenantId: v.spec.tenantId,
          options: o,
          transfer: choice.spec,
          staleness: v.staleness,
          data,
          cursor,
          headKey,
          taps,
          numTasks,
          totalBatches,
          nextSeq,
          aux,
          tokens: before?.tokens ?? 0,
          bytes: before?.bytes ?? 0,
        });
        await jobStore.setProgress(jobId, {
          step: job.step,
          totalSteps: totalBatches,
          epoch: cursor.epoch,
          auxVersion: head,
          seq: nextSeq,
          tokens: job.tokens,
          bytes: job.bytes,
        });
        const resumed = head > 0 || nextSeq > 0;
        await this.lifecycle.event(
          jobId,
          'info',
          resumed
            ? `Resumed at step ${job.step}/${totalBatches} from aux version ${head} (${nextSeq - head} fit task(s) in flight)`
            : `Training started: ${totalBatches} batches over ${o.epochs} epoch(s), ${numTasks} fit task(s) of ${o.interval} batch(es)` +
                (o.maxSteps !== undefined && totalBatches === o.maxSteps ? ` (bounded by max_steps ${o.maxSteps})` : ''),
        );
        this.ctx.metrics.counter('hostTransferChoices').inc({ ...choice.spec, reason: choice.reason });
        await this.lifecycle.event(jobId, 'info', choice.message);
        if (!resumed) await this.lifecycle.event(jobId, 'info', auto.message);
        await this.lifecycle.validation.open(job, v.validationEvery);
        return job;
      } catch (e) {
        aux.dispose();
        throw e;
      }
    } catch (e) {
      heads.release(headKey);
      throw e;
    }
  }
}
