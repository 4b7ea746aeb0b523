import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { JOB_STATUSES } from '@cola/pipeline';
import { ListEnvelopeDto, ListQueryDto } from '../../common/pagination';
import { ApiErrorDetailDto } from '../../errors/api-error-responses.decorator';

/** A value the gpu-host chooses from the data: `auto` until it opened the job, then the value the job runs with. */
const resolvedLater = (description: string): ApiPropertyOptions => ({
  type: 'string',
  oneOf: [{ type: 'number' }, { type: 'string', enum: ['auto'] }],
  description: `${description} \`auto\` until the gpu-host opens the job and chooses it from the data (docs/auto.md).`,
});

export class JobHyperparametersDto {
  @ApiProperty(resolvedLater('Passes over the training file.')) n_epochs!: number | 'auto';
  @ApiProperty(resolvedLater('Examples per host batch.')) batch_size!: number | 'auto';
  @ApiProperty(resolvedLater('Peak learning rate of the aux optimizer.')) learning_rate!: number | 'auto';
  @ApiProperty({ type: String, enum: ['adamw', 'sgd'] }) optimizer!: 'adamw' | 'sgd';
  @ApiProperty({ type: Number }) weight_decay!: number;
  @ApiProperty(resolvedLater('Tokens per window.')) max_length!: number | 'auto';
  @ApiProperty(resolvedLater('Windows per classification input, whose outputs are averaged (1 for causal LM).'))
  max_windows!: number | 'auto';
  @ApiProperty({ type: Number }) warmup_fraction!: number;
}

export class JobTransferDto {
  @ApiProperty({
    type: String,
    enum: ['auto', 'activations', 'gram'],
    description:
      'auto: the gpu-host picks the smaller of the encodings every aux supports when the job starts; its events say which and why.',
  })
  mode!: 'auto' | 'activations' | 'gram';
  @ApiProperty({ type: String, enum: ['fp32', 'fp16', 'bf16'] }) dtype!: 'fp32' | 'fp16' | 'bf16';
}

export class JobMethodDto {
  @ApiProperty({ type: String, enum: ['cola'] }) type!: 'cola';
  @ApiProperty({ type: Object, description: 'The aux of the adapted layers, every field resolved.' }) aux!: Record<string, unknown>;
  @ApiProperty({ type: Object, description: 'The aux of the classifier head (classification).' }) head_aux!: Record<string, unknown>;
  @ApiProperty({ type: [String] }) target_modules!: string[];
  @ApiProperty({ type: Boolean }) merged!: boolean;
  @ApiProperty({ type: Number }) interval!: number;
  @ApiProperty({ type: Number }) staleness!: number;
  @ApiProperty({ type: JobTransferDto }) transfer!: JobTransferDto;
  @ApiProperty({ type: String, nullable: true }) merge_group!: string | null;
}

export class JobProgressDto {
  @ApiProperty({ type: Number, description: 'Host batches done.' }) step!: number;
  @ApiProperty({ type: Number }) total_steps!: number;
  @ApiProperty({ type: Number }) epoch!: number;
  @ApiProperty({ type: Number, description: 'Loss of the latest batch.' }) loss!: number;
  @ApiProperty({ type: Number }) tokens!: number;
  @ApiProperty({ type: Number, description: 'Adaptation payload bytes the gpu-host shipped to the aux-trainers.' })
  bytes_transferred!: number;
  @ApiProperty({ type: Number, description: 'Latest aux version the gpu-host trains with.' }) aux_version!: number;
  @ApiProperty({ type: Number, description: 'Fit tasks published.' }) fit_tasks!: number;
}

export class JobResultDto {
  @ApiProperty({ type: String, enum: ['accuracy', 'perplexity'] }) metric!: 'accuracy' | 'perplexity';
  @ApiProperty({ type: Number, nullable: true, description: 'Score of the final model; null while the job runs.' }) value!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Score of the starting model (before training), in the same metric.' })
  before!: number | null;
  @ApiProperty({ type: Number, description: 'Validation examples (or tokens) evaluated.' }) count!: number;
}

export class JobDto {
  @ApiProperty({ type: String, enum: ['fine_tuning.job'] }) object!: 'fine_tuning.job';
  @ApiProperty({ type: String, example: 'ftjob-abc123' }) id!: string;
  @ApiProperty({ type: Number, description: 'Unix seconds.' }) created_at!: number;
  @ApiProperty({ type: Number, nullable: true }) finished_at!: number | null;
  @ApiProperty({ type: String, description: 'The base model.' }) model!: string;
  @ApiProperty({ type: String, nullable: true, description: 'ft:<base>:<tenant>:<job> once the job succeeded.' }) fine_tuned_model!:
    string | null;
  @ApiProperty({ type: String, description: 'The tenant.' }) organization_id!: string;
  @ApiProperty({ type: String, enum: JOB_STATUSES, description: '`cancelling` = cancellation requested.' }) status!: string;
  @ApiProperty({ type: String, enum: ['classification', 'causal_lm'] }) task!: string;
  @ApiProperty({ type: String }) training_file!: string;
  @ApiProperty({ type: String, nullable: true }) validation_file!: string | null;
  @ApiProperty({ type: [String], nullable: true, description: 'Class names in head order (classification).' }) labels!: string[] | null;
  @ApiProperty({ type: Number }) seed!: number;
  @ApiProperty({ type: JobHyperparametersDto }) hyperparameters!: JobHyperparametersDto;
  @ApiProperty({ type: JobMethodDto }) method!: JobMethodDto;
  @ApiProperty({ type: ApiErrorDetailDto, nullable: true }) error!: ApiErrorDetailDto | null;
  @ApiProperty({ type: Number, nullable: true }) trained_tokens!: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      "Share of the training file's tokens beyond max_length x max_windows, which training leaves out (0 = every token is used); null until the gpu-host opens the job.",
  })
  dropped_token_share!: number | null;
  @ApiProperty({ type: JobProgressDto, nullable: true }) progress!: JobProgressDto | null;
  @ApiProperty({ type: JobResultDto, nullable: true, description: 'Validation metric, once the job succeeded.' })
  result!: JobResultDto | null;
  @ApiProperty({ type: Number, nullable: true }) estimated_finish!: number | null;
  @ApiProperty({ type: [String] }) result_files!: string[];
}

export class JobListDto extends ListEnvelopeDto {
  @ApiProperty({ type: [JobDto] }) data!: JobDto[];
}

export class JobEventDataDto {
  @ApiPropertyOptional({ type: Number }) step?: number;
  @ApiPropertyOptional({ type: Number }) loss?: number;
  @ApiPropertyOptional({ type: Number }) tokens?: number;
  @ApiPropertyOptional({ type: Number, description: 'Adaptation payload bytes transferred so far.' }) bytes?: number;
}

export class JobEventDto {
  @ApiProperty({ type: String, enum: ['fine_tuning.job.event'] }) object!: 'fine_tuning.job.event';
  @ApiProperty({ type: String, example: 'ftevent-1717171717171-0' }) id!: string;
  @ApiProperty({ type: Number }) created_at!: number;
  @ApiProperty({ type: String, enum: ['info', 'warn', 'error'] }) level!: 'info' | 'warn' | 'error';
  @ApiProperty({ type: String }) message!: string;
  @ApiProperty({ type: String, enum: ['message', 'metrics'] }) type!: 'message' | 'metrics';
  @ApiProperty({ type: JobEventDataDto, nullable: true }) data!: JobEventDataDto | null;
}

export class JobEventListDto extends ListEnvelopeDto {
  @ApiProperty({ type: [JobEventDto], description: 'Oldest first: `after` continues where the last page (or stream) stopped.' })
  data!: JobEventDto[];
}

/** GET /v1/fine_tuning/jobs/:id/events query. */
export class JobEventsQueryDto extends ListQueryDto {
  @ApiPropertyOptional({
    type: Boolean,
    description:
      'Answer as text/event-stream: the events after `after`, then new ones as they come, until the job ends. Also chosen by `Accept: text/event-stream`.',
  })
  @IsOptional()
  @IsIn(['true', 'false', '1', '0'], { message: 'must be true or false' })
  stream?: string;
}

export class JobCheckpointDto {
  @ApiProperty({ type: String, enum: ['fine_tuning.job.checkpoint'] }) object!: 'fine_tuning.job.checkpoint';
  @ApiProperty({ type: String, example: 'ftckpt-120' }) id!: string;
  @ApiProperty({ type: Number, nullable: true }) created_at!: number | null;
  @ApiProperty({ type: String, description: 'Model name of this checkpoint.' }) fine_tuned_model_checkpoint!: string;
  @ApiProperty({ type: Number, description: 'Host batches done when it was saved.' }) step_number!: number;
  @ApiProperty({ type: Object }) metrics!: Record<string, number>;
  @ApiProperty({ type: String }) fine_tuning_job_id!: string;
}

export class JobCheckpointListDto extends ListEnvelopeDto {
  @ApiProperty({ type: [JobCheckpointDto], description: 'Newest first.' }) data!: JobCheckpointDto[];
}

/** GET .../adapter and .../adapter/config query. */
export class AdapterQueryDto {
  @ApiPropertyOptional({ type: String, description: 'A checkpoint id (ftckpt-<step>); default: the latest aux version.' })
  @IsOptional()
  @Matches(/^ftckpt-\d{1,15}$/, { message: 'must be a checkpoint id like ftckpt-120 (see GET .../checkpoints)' })
  checkpoint?: string;
}
