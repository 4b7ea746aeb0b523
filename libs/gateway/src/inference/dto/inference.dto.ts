import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { IsTextOrTexts } from '../../common/auto-or.validators';
import { ListEnvelopeDto } from '../../common/pagination';
import { MAX_TEXT_CHARS, SamplingDto, UsageDto } from './sampling.dto';

export { MAX_TEXT_CHARS };

/** Most texts in one classification request. */
export const MAX_CLASSIFY_INPUTS = 256;

/** POST /v1/classifications */
export class ClassifyDto {
  @ApiProperty({
    type: String,
    description: 'A base model or one of your fine-tuned models (GET /v1/models).',
    example: 'ft:cola-tiny:acme:ftjob-abc123',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(400)
  model!: string;

  @ApiProperty({
    type: 'string',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: MAX_CLASSIFY_INPUTS }],
    description: 'Text(s) to classify.',
  })
  @IsTextOrTexts(MAX_CLASSIFY_INPUTS, MAX_TEXT_CHARS)
  input!: string | string[];
}

/** POST /v1/completions */
export class CompletionDto extends SamplingDto {
  @ApiProperty({ type: String })
  @IsString()
  @MaxLength(MAX_TEXT_CHARS)
  prompt!: string;
}

export class LabelScoreDto {
  @ApiProperty({ type: String }) label!: string;
  @ApiProperty({ type: Number }) score!: number;
}

export class ClassificationResultDto {
  @ApiProperty({ type: String, enum: ['classification.result'] }) object!: 'classification.result';
  @ApiProperty({ type: Number }) index!: number;
  @ApiProperty({ type: String }) label!: string;
  @ApiProperty({ type: [LabelScoreDto], description: 'Every label with its probability.' }) scores!: LabelScoreDto[];
}

export class ClassificationDto {
  @ApiProperty({ type: String }) id!: string;
  @ApiProperty({ type: String, enum: ['classification'] }) object!: 'classification';
  @ApiProperty({ type: Number }) created!: number;
  @ApiProperty({ type: String }) model!: string;
  @ApiProperty({ type: Number, description: 'Aux version of the weights that answered (0 for a base model).' }) model_version!: number;
  @ApiProperty({ type: [ClassificationResultDto] }) data!: ClassificationResultDto[];
}

export class CompletionChoiceDto {
  @ApiProperty({ type: String }) text!: string;
  @ApiProperty({ type: Number }) index!: number;
  @ApiProperty({ type: String, enum: ['stop', 'length'] }) finish_reason!: 'stop' | 'length';
  @ApiProperty({ type: Object, nullable: true }) logprobs!: null;
}

export class TextCompletionDto {
  @ApiProperty({ type: String }) id!: string;
  @ApiProperty({ type: String, enum: ['text_completion'] }) object!: 'text_completion';
  @ApiProperty({ type: Number }) created!: number;
  @ApiProperty({ type: String }) model!: string;
  @ApiProperty({ type: Number }) model_version!: number;
  @ApiProperty({ type: [CompletionChoiceDto] }) choices!: CompletionChoiceDto[];
  @ApiProperty({ type: UsageDto }) usage!: UsageDto;
}

export class ModelDto {
  @ApiProperty({ type: String, example: 'ft:cola-tiny:acme:ftjob-abc123' }) id!: string;
  @ApiProperty({ type: String, enum: ['model'] }) object!: 'model';
  @ApiProperty({ type: Number, description: 'Unix seconds: when the job finished (fine-tuned) or the gateway started serving it (base).' })
  created!: number;
  @ApiProperty({ type: String, description: '"system" for base models, else the tenant.' }) owned_by!: string;
}

export class ModelListDto extends ListEnvelopeDto {
  @ApiProperty({ type: [ModelDto] }) data!: ModelDto[];
}
