import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsObject, IsOptional, IsString, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { IsBoundedNumber } from '../../common/auto-or.validators';

/** Longest text or prompt, in characters. */
export const MAX_TEXT_CHARS = 32_768;

/** `stream_options` of a streamed completion or chat completion. */
export class StreamOptionsDto {
  @ApiPropertyOptional({ type: Boolean, description: 'Send a last chunk with `usage` (and no choices) before `[DONE]`.' })
  @IsOptional()
  @IsBoolean()
  include_usage?: boolean;
}

/** Sampling fields shared by /v1/completions and /v1/chat/completions. */
export class SamplingDto {
  @ApiProperty({ type: String, example: 'cola-tiny' })
  @IsString()
  @MinLength(1)
  @MaxLength(400)
  model!: string;

  @ApiPropertyOptional({ type: Number, minimum: 1, maximum: 1024, default: 16 })
  @IsOptional()
  @IsBoundedNumber({ integer: true, min: 1, max: 1024 })
  max_tokens?: number;

  @ApiPropertyOptional({ type: Number, minimum: 0, maximum: 2, default: 1, description: '0 = greedy.' })
  @IsOptional()
  @IsBoundedNumber({ min: 0, max: 2 })
  temperature?: number;

  @ApiPropertyOptional({
    type: Number,
    minimum: 0,
    maximum: 2147483647,
    description: 'Same seed, prompt and model version give the same text.',
  })
  @IsOptional()
  @IsBoundedNumber({ integer: true, min: 0, max: 2147483647 })
  seed?: number;

  @ApiPropertyOptional({
    type: Boolean,
    default: false,
    description: 'Answer as server-sent events: `data: {chunk}` lines, then `data: [DONE]` (OpenAI streaming).',
  })
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @ApiPropertyOptional({ type: StreamOptionsDto, nullable: true })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto | null;
}

export class UsageDto {
  @ApiProperty({ type: Number }) prompt_tokens!: number;
  @ApiProperty({ type: Number }) completion_tokens!: number;
  @ApiProperty({ type: Number }) total_tokens!: number;
}
