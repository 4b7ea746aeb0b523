import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { ID_PATTERN } from '@cola/config';
import { AUX_TYPES } from '@cola/gl';
import { IsAutoOrNumber, IsBoundedNumber } from '../../common/auto-or.validators';

/** OpenAPI schema of "auto or a number" fields. */
// `type` only keeps @nestjs/swagger from reading design:type (which tsx does not emit); it drops it for oneOf.
const autoOr = (schema: SchemaObject, description: string): ApiPropertyOptions => ({
  type: 'string',
  oneOf: [{ type: 'string', enum: ['auto'] }, schema],
  description,
  default: 'auto',
});

export const TASK_NAMES = ['auto', 'classification', 'causal_lm'] as const;
export const OPTIMIZER_NAMES = ['auto', 'adamw', 'sgd'] as const;
export const TRANSFER_MODE_NAMES = ['auto', 'activations', 'gram'] as const;
export const TRANSFER_DTYPE_NAMES = ['auto', 'fp32', 'fp16', 'bf16'] as const;

/** The aux model of the adapted layers (docs/design.md, "Aux model types"). */
export class AuxDto {
  @ApiProperty({
    type: String,
    enum: AUX_TYPES,
    description: 'lowrank: s·X·A·B; linear: X·V (+b); mlp: layers with an activation (not mergeable, no gram transfer).',
  })
  @IsIn(AUX_TYPES)
  type!: (typeof AUX_TYPES)[number];

  @ApiPropertyOptional({ type: Number, minimum: 1, maximum: 1024, description: 'lowrank: rank r (default 8).' })
  @IsOptional()
  @IsBoundedNumber({ integer: true, min: 1, max: 1024 })
  rank?: number;

  @ApiPropertyOptional({ type: Number, description: 'lowrank: scale s = lora_alpha / r (default 1).' })
  @IsOptional()
  @IsBoundedNumber({ above: 0, max: 1024 })
  scale?: number;

  @ApiPropertyOptional({
    type: Number,
    minimum: 0,
    maximum: 0.99,
    description: 'lowrank: input dropout (default 0; non-zero rules out gram transfer).',
  })
  @IsOptional()
  @IsBoundedNumber({ min: 0, below: 1 })
  dropout?: number;

  @ApiPropertyOptional({ type: Boolean, description: 'linear: with a bias (default false).' })
  @IsOptional()
  @IsBoolean()
  bias?: boolean;

  @ApiPropertyOptional({ type: [Number], description: 'mlp: hidden widths, input side first (paper: [128, 256]).' })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(4)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(8192, { each: true })
  hidden?: number[];

  @ApiPropertyOptional({ type: String, description: 'mlp: activation between layers, e.g. "relu" (default) or "gelu".' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  activation?: string;
}

/** How the gpu-host ships adaptation data to the aux-trainers. */
export class TransferDto {
  @ApiPropertyOptional({
    type: String,
    enum: TRANSFER_MODE_NAMES,
    default: 'auto',
    description: 'activations: raw (X, G); gram: X^T·G (linear and dropout-free lowrank only).',
  })
  @IsOptional()
  @IsIn(TRANSFER_MODE_NAMES)
  mode?: (typeof TRANSFER_MODE_NAMES)[number];

  @ApiPropertyOptional({ type: String, enum: TRANSFER_DTYPE_NAMES, default: 'auto' })
  @IsOptional()
  @IsIn(TRANSFER_DTYPE_NAMES)
  dtype?: (typeof TRANSFER_DTYPE_NAMES)[number];
}

/** The method types: ColA's own, and OpenAI's supervised fine-tuning (run as ColA with its defaults). */
export const METHOD_TYPE_NAMES = ['cola', 'supervised'] as const;

/** The ColA method settings. */
export class MethodDto {
  @ApiPropertyOptional({
    type: String,
    enum: METHOD_TYPE_NAMES,
    default: 'cola',
    description:
      'cola: the fields below. supervised: OpenAI’s supervised fine-tuning, run as ColA with its defaults (lowrank aux, rank 8, scale 1, interval 1, staleness 1: exactly LoRA), hyperparameters from `supervised.hyperparameters`.',
  })
  @IsOptional()
  @IsIn(METHOD_TYPE_NAMES, { message: 'must be "cola" or "supervised" (dpo and reinforcement fine-tuning are not supported)' })
  type?: (typeof METHOD_TYPE_NAMES)[number];

  @ApiPropertyOptional({ type: () => SupervisedMethodDto, description: 'OpenAI’s `method.supervised` (with `type: "supervised"`).' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => SupervisedMethodDto)
  supervised?: SupervisedMethodDto;

  @ApiPropertyOptional({
    type: AuxDto,
    description: 'Default: lowrank, rank 8, scale 1. The classifier head always takes a linear aux with bias.',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => AuxDto)
  aux?: AuxDto;

  @ApiPropertyOptional({
    type: [String],
    description: 'Modules to adapt, PEFT style (suffix match): e.g. ["c_attn", "score"] (default for classification).',
  })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(64)
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(64, { each: true })
  target_modules?: string[];

  @ApiPropertyOptional({ type: Boolean, default: false, description: 'Train on W + dW (lowrank and linear only) instead of adding g(X).' })
  @IsOptional()
  @IsBoolean()
  merged?: boolean;

  @ApiPropertyOptional(
    autoOr({ type: 'integer', minimum: 1, maximum: 1024 }, 'Adaptation interval I: host batches per fit step (auto = 1, exactly LoRA).'),
  )
  @IsOptional()
  @IsAutoOrNumber({ integer: true, min: 1, max: 1024 })
  interval?: number | 'auto';

  @ApiPropertyOptional(
    autoOr({ type: 'integer', minimum: 1, maximum: 64 }, 'Bounded staleness K: fit tasks in flight (auto = 1, synchronous).'),
  )
  @IsOptional()
  @IsAutoOrNumber({ integer: true, min: 1, max: 64 })
  staleness?: number | 'auto';

  @ApiPropertyOptional({ type: TransferDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => TransferDto)
  transfer?: TransferDto;

  @ApiPropertyOptional({
    type: String,
    pattern: ID_PATTERN.source,
    description: "Collaborative merge group (the paper's 'col' mode): your jobs in one group are served as W + mean dW.",
  })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: 'must be 1-128 characters from [A-Za-z0-9_-], starting with a letter or digit' })
  merge_group?: string;
}

/** Training loop settings; every one defaults to `auto`. */
export class HyperparametersDto {
  @ApiPropertyOptional(
    autoOr(
      { type: 'integer', minimum: 1, maximum: 1000 },
      'Passes over the training file (auto: chosen from the data size, see docs/auto.md).',
    ),
  )
  @IsOptional()
  @IsAutoOrNumber({ integer: true, min: 1, max: 1000 })
  n_epochs?: number | 'auto';

  @ApiPropertyOptional(
    autoOr({ type: 'integer', minimum: 1, maximum: 4096 }, 'Examples per host batch (auto: 8, 16 or 32 from the data size).'),
  )
  @IsOptional()
  @IsAutoOrNumber({ integer: true, min: 1, max: 4096 })
  batch_size?: number | 'auto';

  @ApiPropertyOptional(
    autoOr(
      { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 10 },
      'Peak learning rate of the aux optimizer (auto: by aux type and rank).',
    ),
  )
  @IsOptional()
  @IsAutoOrNumber({ above: 0, max: 10 })
  learning_rate?: number | 'auto';

  @ApiPropertyOptional(
    autoOr(
      { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 1000 },
      'Multiplier of the default learning rate (OpenAI style); do not combine with learning_rate.',
    ),
  )
  @IsOptional()
  @IsAutoOrNumber({ above: 0, max: 1000 })
  learning_rate_multiplier?: number | 'auto';

  @ApiPropertyOptional({ type: String, enum: OPTIMIZER_NAMES, default: 'auto', description: 'auto = AdamW.' })
  @IsOptional()
  @IsIn(OPTIMIZER_NAMES)
  optimizer?: (typeof OPTIMIZER_NAMES)[number];

  @ApiPropertyOptional(autoOr({ type: 'number', minimum: 0, maximum: 1 }, 'Weight decay (AdamW: decoupled, default 5e-4).'))
  @IsOptional()
  @IsAutoOrNumber({ min: 0, max: 1 })
  weight_decay?: number | 'auto';

  @ApiPropertyOptional(autoOr({ type: 'number', minimum: 0, maximum: 1, exclusiveMaximum: true }, 'SGD momentum (default 0).'))
  @IsOptional()
  @IsAutoOrNumber({ min: 0, below: 1 })
  momentum?: number | 'auto';

  @ApiPropertyOptional(
    autoOr(
      { type: 'integer', minimum: 1, maximum: 4096 },
      'Tokens per example after truncation (auto: 90th percentile of the rows, at most the context).',
    ),
  )
  @IsOptional()
  @IsAutoOrNumber({ integer: true, min: 1, max: 4096 })
  max_length?: number | 'auto';

  @ApiPropertyOptional(
    autoOr(
      { type: 'integer', minimum: 1, maximum: 64 },
      'Classification: windows of max_length tokens per input; a longer input is split into up to this many windows whose outputs are averaged, in training and in Classify (auto: enough for 90% of the rows, at most 8, within the host memory budget).',
    ),
  )
  @IsOptional()
  @IsAutoOrNumber({ integer: true, min: 1, max: 64 })
  max_windows?: number | 'auto';

  @ApiPropertyOptional(
    autoOr(
      { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 1, exclusiveMaximum: true },
      'Fraction of the steps in linear warmup (auto = 0.05).',
    ),
  )
  @IsOptional()
  @IsAutoOrNumber({ above: 0, below: 1 })
  warmup_fraction?: number | 'auto';

  @ApiPropertyOptional(
    autoOr(
      { type: 'integer', minimum: 1, maximum: 10000000 },
      'Stop after this many batches, for a short trial (auto = no bound: n_epochs passes over the file).',
    ),
  )
  @IsOptional()
  @IsAutoOrNumber({ integer: true, min: 1, max: 10_000_000 })
  max_steps?: number | 'auto';

  @ApiPropertyOptional(
    autoOr(
      { type: 'integer', minimum: 1, maximum: 10000000 },
      'Evaluate the validation file every this many steps, besides before training and at the end (auto = about five times per run).',
    ),
  )
  @IsOptional()
  @IsAutoOrNumber({ integer: true, min: 1, max: 10_000_000 })
  validation_every?: number | 'auto';
}

/** OpenAI's `method.supervised`: only its hyperparameters. */
export class SupervisedMethodDto {
  @ApiPropertyOptional({ type: () => HyperparametersDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => HyperparametersDto)
  hyperparameters?: HyperparametersDto;
}

/** POST /v1/fine_tuning/jobs */
export class CreateJobDto {
  @ApiProperty({ type: String, description: 'Base model to fine-tune (see GET /v1/models).', example: 'cola-tiny' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  model!: string;

  @ApiProperty({ type: String, description: 'Id of an uploaded JSONL file.', example: 'file-abc123' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  training_file!: string;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'Id of an uploaded JSONL file for the final evaluation.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  validation_file?: string | null;

  @ApiPropertyOptional({
    type: String,
    enum: TASK_NAMES,
    default: 'auto',
    description: 'auto: classification for {"text","label"} files, causal_lm for {"prompt","completion"}.',
  })
  @IsOptional()
  @IsIn(TASK_NAMES)
  task?: (typeof TASK_NAMES)[number];

  @ApiPropertyOptional({ type: MethodDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => MethodDto)
  method?: MethodDto;

  @ApiPropertyOptional({ type: HyperparametersDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => HyperparametersDto)
  hyperparameters?: HyperparametersDto;

  @ApiPropertyOptional({
    type: Number,
    minimum: 0,
    maximum: 2147483647,
    description: 'Seed of aux initialisation and data order; random when omitted (and reported on the job).',
  })
  @IsOptional()
  @IsBoundedNumber({ integer: true, min: 0, max: 2147483647 })
  seed?: number;
}
