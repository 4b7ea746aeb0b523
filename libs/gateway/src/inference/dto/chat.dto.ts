import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import { CHAT_ROLES } from '@cola/data';
import { IsBoundedNumber, IsChatContent } from '../../common/auto-or.validators';
import { MAX_TEXT_CHARS, SamplingDto, UsageDto } from './sampling.dto';

/** Most messages in one chat request. */
export const MAX_CHAT_MESSAGES = 256;

/** One message of a chat request. */
export class ChatMessageDto {
  @ApiProperty({ type: String, enum: CHAT_ROLES })
  @IsIn(CHAT_ROLES as unknown as string[])
  role!: (typeof CHAT_ROLES)[number];

  @ApiProperty({
    type: 'string',
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'object', properties: { type: { enum: ['text'] }, text: { type: 'string' } } } },
    ],
    description: 'The text, or a list of text parts.',
  })
  @IsChatContent(MAX_TEXT_CHARS)
  content!: string | { type: 'text'; text: string }[];

  @ApiPropertyOptional({ type: String, description: 'Accepted for compatibility; not used by the template.' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  name?: string;
}

/** POST /v1/chat/completions */
export class ChatCompletionRequestDto extends SamplingDto {
  @ApiProperty({
    type: [ChatMessageDto],
    description: 'The conversation; it is written in the chat template (see the gateway README) and the model continues as the assistant.',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CHAT_MESSAGES)
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  messages!: ChatMessageDto[];

  @ApiPropertyOptional({ type: Number, minimum: 1, maximum: 1024, description: 'OpenAI’s newer name of max_tokens; give one of them.' })
  @IsOptional()
  @IsBoundedNumber({ integer: true, min: 1, max: 1024 })
  max_completion_tokens?: number;

  @ApiPropertyOptional({ type: Number, minimum: 1, maximum: 1, default: 1, description: 'Only one choice is generated.' })
  @IsOptional()
  @IsBoundedNumber({ integer: true, min: 1, max: 1 })
  n?: number;
}

export class ChatAnswerMessageDto {
  @ApiProperty({ type: String, enum: ['assistant'] }) role!: 'assistant';
  @ApiProperty({ type: String }) content!: string;
  @ApiProperty({ type: String, nullable: true }) refusal!: null;
}

export class ChatChoiceDto {
  @ApiProperty({ type: Number }) index!: number;
  @ApiProperty({ type: ChatAnswerMessageDto }) message!: ChatAnswerMessageDto;
  @ApiProperty({ type: String, enum: ['stop', 'length'] }) finish_reason!: 'stop' | 'length';
  @ApiProperty({ type: Object, nullable: true }) logprobs!: null;
}

export class ChatCompletionDto {
  @ApiProperty({ type: String }) id!: string;
  @ApiProperty({ type: String, enum: ['chat.completion'] }) object!: 'chat.completion';
  @ApiProperty({ type: Number, description: 'Unix seconds.' }) created!: number;
  @ApiProperty({ type: String }) model!: string;
  @ApiProperty({ type: Number, description: 'Aux version of the weights that answered (0 for a base model).' }) model_version!: number;
  @ApiProperty({ type: [ChatChoiceDto] }) choices!: ChatChoiceDto[];
  @ApiProperty({ type: UsageDto }) usage!: UsageDto;
}
