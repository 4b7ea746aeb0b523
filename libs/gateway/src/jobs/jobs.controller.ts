import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ListQueryDto } from '../common/pagination';
import { ParamTypes } from '../common/param-types.decorator';
import { Tenant, type TenantContext } from '../auth/auth.decorators';
import { ApiErrorResponses } from '../errors/api-error-responses.decorator';
import type { AdapterConfig } from './adapter-export';
import { CreateJobDto } from './dto/create-job.dto';
import { AdapterQueryDto, JobCheckpointListDto, JobDto, JobEventListDto, JobEventsQueryDto, JobListDto } from './dto/job.dto';
import { JobEventStreamService } from './job-event-stream.service';
import { JobsService } from './jobs.service';

/** Fine-tuning jobs, in the shapes of the OpenAI fine-tuning API. */
@ApiTags('fine-tuning')
@ApiBearerAuth('api-key')
@Controller('v1/fine_tuning/jobs')
export class JobsController {
  constructor(
    @Inject(JobsService) private readonly jobs: JobsService,
    @Inject(JobEventStreamService) private readonly streams: JobEventStreamService,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create a fine-tuning job',
    description: 'Validated at once (files, model, method, hyperparameters); the job is queued for the gpu-host.',
  })
  @ApiOkResponse({ type: JobDto })
  @ApiErrorResponses(400, 401, 413, 429)
  @ParamTypes(Object, CreateJobDto)
  create(@Tenant() t: TenantContext, @Body() dto: CreateJobDto): Promise<JobDto> {
    return this.jobs.create(t.tenantId, dto);
  }

  @Get()
  @ApiOperation({ summary: 'List fine-tuning jobs, newest first' })
  @ApiOkResponse({ type: JobListDto })
  @ApiErrorResponses(400, 401, 429)
  @ParamTypes(Object, ListQueryDto)
  list(@Tenant() t: TenantContext, @Query() q: ListQueryDto): Promise<JobListDto> {
    return this.jobs.list(t.tenantId, q.after, q.limit);
  }

  @Get(':job_id')
  @ApiOperation({ summary: 'Get a fine-tuning job' })
  @ApiOkResponse({ type: JobDto })
  @ApiErrorResponses(401, 404, 429)
  @ParamTypes(Object, String)
  get(@Tenant() t: TenantContext, @Param('job_id') id: string): Promise<JobDto> {
    return this.jobs.get(t.tenantId, id);
  }

  @Post(':job_id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel a fine-tuning job',
    description:
      'A queued job is cancelled at once; a running one goes to `cancelling` until the gpu-host has stopped it and freed its queued data.',
  })
  @ApiOkResponse({ type: JobDto })
  @ApiErrorResponses(401, 404, 409, 429)
  @ParamTypes(Object, String)
  cancel(@Tenant() t: TenantContext, @Param('job_id') id: string): Promise<JobDto> {
    return this.jobs.cancel(t.tenantId, id);
  }

  @Get(':job_id/events')
  @ApiOperation({
    summary: "List a job's events, or stream them (SSE)",
    description:
      'Oldest first, paginated with `after`. With `stream=true` or `Accept: text/event-stream` the answer is a server-sent-events stream (resumable with Last-Event-ID) that ends with `event: done` when the job does.',
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ type: JobEventListDto })
  @ApiErrorResponses(400, 401, 404, 429)
  @ParamTypes(Object, String, JobEventsQueryDto, Object, Object)
  async events(
    @Tenant() t: TenantContext,
    @Param('job_id') id: string,
    @Query() q: JobEventsQueryDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const stream =
      q.stream === 'true' || q.stream === '1' || (q.stream === undefined && (req.header('accept') ?? '').includes('text/event-stream'));
    if (!stream) {
      res.status(200).json(await this.jobs.events(t.tenantId, id, q.after, q.limit));
      return;
    }
    await this.jobs.record(t.tenantId, id);
    const after = this.jobs.eventCursor(q.after ?? req.header('last-event-id') ?? undefined);
    await this.streams.stream(id, after, req, res);
  }

  @Get(':job_id/checkpoints')
  @ApiOperation({ summary: "List a job's checkpoints, newest first" })
  @ApiOkResponse({ type: JobCheckpointListDto })
  @ApiErrorResponses(400, 401, 404, 429)
  @ParamTypes(Object, String, ListQueryDto)
  checkpoints(@Tenant() t: TenantContext, @Param('job_id') id: string, @Query() q: ListQueryDto): Promise<JobCheckpointListDto> {
    return this.jobs.checkpoints(t.tenantId, id, q.after, q.limit);
  }

  @Get(':job_id/adapter')
  @ApiOperation({
    summary: "Download the job's adapter (safetensors)",
    description:
      'PEFT LoRA tensor names for lowrank layers (base_model.model.transformer.h.N.attn.c_attn.lora_A.weight ...), cola_aux.* for the rest; see .../adapter/config.',
  })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiErrorResponses(400, 401, 404, 409, 429)
  @ParamTypes(Object, String, AdapterQueryDto)
  async adapter(@Tenant() t: TenantContext, @Param('job_id') id: string, @Query() q: AdapterQueryDto): Promise<StreamableFile> {
    const { weights } = await this.jobs.adapter(t.tenantId, id, q.checkpoint);
    return new StreamableFile(weights, {
      type: 'application/octet-stream',
      disposition: 'attachment; filename="adapter_model.safetensors"',
      length: weights.byteLength,
    });
  }

  @Get(':job_id/adapter/config')
  @ApiOperation({ summary: "The adapter's adapter_config.json (PEFT fields, ColA details under `cola`)" })
  @ApiOkResponse({ schema: { type: 'object' } })
  @ApiErrorResponses(400, 401, 404, 409, 429)
  @ParamTypes(Object, String, AdapterQueryDto)
  async adapterConfig(@Tenant() t: TenantContext, @Param('job_id') id: string, @Query() q: AdapterQueryDto): Promise<AdapterConfig> {
    return (await this.jobs.adapter(t.tenantId, id, q.checkpoint)).config;
  }
}
