import { randomInt } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobIds } from '@cola/config';
import { FINAL_STATUSES, JobStore, submitJob, validateJobSpec, type JobRecord, type JobsQueueData } from '@cola/pipeline';
import { AuxStateStore, CheckpointStore } from '@cola/store';
import { isUsableId, newId } from '../common/ids';
import { DEFAULT_PAGE_SIZE, invalidCursor, page, type Page } from '../common/pagination';
import { ApiError, notFound } from '../errors/api-error';
import type { ResolvedGatewayOptions } from '../core/gateway-options';
import { GATEWAY_OPTIONS, JOB_STORE, JOBS_QUEUE, REDIS } from '../core/tokens';
import { FilesService, type StoredFile } from '../files/files.service';
import { exportAdapter, type ExportedAdapter } from './adapter-export';
import type { CreateJobDto } from './dto/create-job.dto';
import type { JobCheckpointDto, JobDto, JobEventDto } from './dto/job.dto';
import { buildJobSpec } from './job-spec-builder';
import { checkpointStepOf, checkpointView, eventView, jobView, streamIdOf } from './job-view';
import { ETA_EVENTS_SCANNED, estimatedFinish } from './job-eta';

/**
 * Fine-tuning jobs of one tenant: create (validated against the pipeline's rules and the tenant's
 * files, then submitted to the gpu-host's queue), read, cancel, events, checkpoints and the
 * adapter. A job of another tenant is answered exactly like a missing one.
 */
@Injectable()
export class JobsService {
  private readonly auxStore: AuxStateStore;
  private readonly checkpointStore: CheckpointStore;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(JOBS_QUEUE) private readonly queue: Queue<JobsQueueData>,
    @Inject(FilesService) private readonly files: FilesService,
    @Inject(GATEWAY_OPTIONS) private readonly options: ResolvedGatewayOptions,
  ) {
    this.auxStore = new AuxStateStore(redis);
    this.checkpointStore = new CheckpointStore(redis);
  }

  async create(tenantId: string, dto: CreateJobDto): Promise<JobDto> {
    if (!this.options.baseModels.includes(dto.model)) {
      const hint = dto.model.startsWith('ft:') ? 'fine-tuning a fine-tuned model is not supported; ' : '';
      throw new ApiError(
        400,
        'unknown_model',
        `Unknown base model ${JSON.stringify(dto.model)}: ${hint}use one of ${this.options.baseModels.join(', ')} (GET /v1/models)`,
        'model',
      );
    }
    const training = await this.files.forJob(tenantId, dto.training_file, 'training_file');
    const validation = dto.validation_file ? await this.files.forJob(tenantId, dto.validation_file, 'validation_file') : null;
    const task = this.taskOf(dto, training, validation);
    const labels = task === 'classification' ? training.labels : [];
    if (validation && task === 'classification') {
      const unknown = validation.labels.filter((l) => !labels.includes(l));
      if (unknown.length) {
        throw new ApiError(
          400,
          'invalid_validation_file',
          `The validation file has labels the training file lacks: ${unknown.map((l) => JSON.stringify(l)).join(', ')}; every validation label must occur in training`,
          'validation_file',
        );
      }
    }
    const jobId = newId.job();
    const { spec } = buildJobSpec(dto, {
      jobId,
      tenantId,
      task,
      labels,
      seed: dto.seed ?? randomInt(0, 2 ** 31 - 1),
      layers: this.options.baseModelLayers,
    });
    await submitJob(this.store, this.queue, spec);
    await this.store.byTenant.add(tenantId, jobId);
    return this.get(tenantId, jobId);
  }

  async list(tenantId: string, after: string | undefined, limit = DEFAULT_PAGE_SIZE): Promise<Page<JobDto>> {
    const listed = await this.store.byTenant.page(tenantId, after, limit);
    if (!listed) throw invalidCursor(after!);
    const { ids, hasMore } = listed;
    const jobs = await Promise.all(ids.map((id) => this.find(tenantId, id)));
    return page(await Promise.all(jobs.filter((r): r is JobRecord => r !== null).map((r) => this.view(r))), hasMore, (j) => j.id);
  }

  async get(tenantId: string, jobId: string): Promise<JobDto> {
    return this.view(await this.record(tenantId, jobId));
  }

  /**
   * Requests cancellation. A job still waiting in the queue is taken out and cancelled at once;
   * a running one moves to `cancelling`, which the gpu-host watches: it stops scheduling the
   * job, withdraws its queued fit tasks, deletes their payloads and sets `cancelled`.
   */
  async cancel(tenantId: string, jobId: string): Promise<JobDto> {
    const rec = await this.record(tenantId, jobId);
    if (FINAL_STATUSES.has(rec.status)) {
      throw new ApiError(
        409,
        'job_not_cancellable',
        `Job ${jobId} already ${rec.status}; only queued or running jobs can be cancelled`,
        null,
      );
    }
    if (rec.status !== 'cancelling') {
      // `remove` refuses a job a gpu-host holds (locked): that one is cancelled through its status.
      const removed = rec.status === 'queued' ? await this.queue.remove(jobIds.job(jobId)) : 0;
      if (removed === 1 && (await this.store.transition(jobId, 'cancelled', 'gateway')).changed) {
        await this.store.appendEvent(jobId, { level: 'info', message: 'Job cancelled before it started' });
      } else if ((await this.store.transition(jobId, 'cancelling', 'gateway')).changed) {
        await this.store.appendEvent(jobId, { level: 'info', message: 'Cancellation requested' });
      }
    }
    return this.get(tenantId, jobId);
  }

  /** A page of events, oldest first, after the event id `after`. */
  async events(tenantId: string, jobId: string, after: string | undefined, limit = DEFAULT_PAGE_SIZE): Promise<Page<JobEventDto>> {
    await this.record(tenantId, jobId);
    const cursor = this.eventCursor(after);
    const rows = await this.store.events(jobId, { after: cursor, limit: limit + 1 });
    return page(rows.slice(0, limit).map(eventView), rows.length > limit, (e) => e.id);
  }

  /** The stream id of an `after` event id; a malformed one is a 400. */
  eventCursor(after: string | undefined): string | undefined {
    if (after === undefined) return undefined;
    const id = streamIdOf(after);
    if (!id) throw invalidCursor(after);
    return id;
  }

  /** A page of checkpoints, newest first. */
  async checkpoints(
    tenantId: string,
    jobId: string,
    after: string | undefined,
    limit = DEFAULT_PAGE_SIZE,
  ): Promise<Page<JobCheckpointDto>> {
    const rec = await this.record(tenantId, jobId);
    let step: number | undefined;
    if (after !== undefined) {
      step = checkpointStepOf(after);
      if (step === undefined) throw invalidCursor(after);
    }
    // A cursor that is not one of this job's checkpoints (unknown, or another job's) is a 400, never a leak.
    const found = await this.checkpointStore.page(jobId, step, limit);
    if (!found) throw invalidCursor(after!);
    return page(
      found.steps.map((s) => checkpointView(rec.spec, s)),
      found.hasMore,
      (c) => c.id,
    );
  }

  /** The adapter at the latest aux version, or at a checkpoint (`ftckpt-<step>`). */
  async adapter(tenantId: string, jobId: string, checkpoint?: string): Promise<ExportedAdapter> {
    const rec = await this.record(tenantId, jobId);
    let bytes: Uint8Array | null;
    if (checkpoint !== undefined) {
      const step = checkpointStepOf(checkpoint);
      bytes = step === undefined ? null : await this.checkpointStore.load(jobId, step);
      if (!bytes)
        throw new ApiError(
          404,
          'not_found',
          `Job ${jobId} has no checkpoint ${JSON.stringify(checkpoint)}; list them with GET /v1/fine_tuning/jobs/${jobId}/checkpoints`,
          'checkpoint',
        );
    } else {
      bytes = (await this.auxStore.loadHead(jobId))?.bytes ?? null;
    }
    if (!bytes) {
      throw new ApiError(
        409,
        'adapter_not_ready',
        `Job ${jobId} has no adapter yet (status ${rec.status}); it exists once the gpu-host started the job`,
        null,
      );
    }
    return exportAdapter(bytes, validateJobSpec(rec.spec));
  }

  /** The tenant's job record, or 404 (missing and foreign answer alike). */
  async record(tenantId: string, jobId: string): Promise<JobRecord> {
    const rec = await this.find(tenantId, jobId);
    if (!rec) throw notFound('fine-tuning job', jobId);
    return rec;
  }

  private async find(tenantId: string, jobId: string): Promise<JobRecord | null> {
    if (!isUsableId(jobId)) return null;
    const rec = await this.store.get(jobId);
    return rec && rec.spec.tenantId === tenantId ? rec : null;
  }

  private async view(rec: JobRecord): Promise<JobDto> {
    const [progress, result] = await Promise.all([this.store.progress(rec.jobId), this.store.eval(rec.jobId)]);
    const view = jobView(rec, progress, result);
    if (rec.status === 'running') {
      view.estimated_finish = estimatedFinish(progress, await this.store.events(rec.jobId, { limit: ETA_EVENTS_SCANNED }), Date.now());
    }
    return view;
  }

  private taskOf(dto: CreateJobDto, training: StoredFile, validation: StoredFile | null): 'classification' | 'causal_lm' {
    const fromFile = training.kind === 'classification' ? 'classification' : 'causal_lm';
    const task = !dto.task || dto.task === 'auto' ? fromFile : dto.task;
    if (task !== fromFile) {
      const shape = task === 'classification' ? '{"text","label"}' : '{"prompt","completion"}';
      throw new ApiError(
        400,
        'invalid_training_file',
        `A ${task} job needs ${shape} rows, but ${training.id} holds ${training.kind} rows; upload a matching file or set task to "auto"`,
        'training_file',
      );
    }
    if (validation && validation.kind !== training.kind) {
      throw new ApiError(
        400,
        'invalid_validation_file',
        `The validation file holds ${validation.kind} rows but the training file ${training.kind} rows; both must have the same shape`,
        'validation_file',
      );
    }
    return task;
  }
}
