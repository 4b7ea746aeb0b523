import { Body, Controller, Get, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ParamTypes } from '../common/param-types.decorator';
import { Tenant, type TenantContext } from '../auth/auth.decorators';
import { ApiErrorResponses } from '../errors/api-error-responses.decorator';
import { ChatCompletionDto, ChatCompletionRequestDto } from './dto/chat.dto';
import { ClassificationDto, ClassifyDto, CompletionDto, ModelDto, ModelListDto, TextCompletionDto } from './dto/inference.dto';
import { ApiError } from '../errors/api-error';
import { InferenceService } from './inference.service';
import { chatChunks, completionChunks } from './openai-chunks';
import { clientGone, relayOpenAiStream } from './openai-sse';

/** Inference on base and fine-tuned models, answered by the merger over gRPC. */
@ApiTags('inference')
@ApiBearerAuth('api-key')
@Controller('v1')
export class InferenceController {
  constructor(@Inject(InferenceService) private readonly inference: InferenceService) {}

  @Post('classifications')
  @HttpCode(200)
  @ApiOperation({ summary: 'Classify texts with a classification model' })
  @ApiOkResponse({ type: ClassificationDto })
  @ApiErrorResponses(400, 401, 404, 409, 429, 502, 503, 504)
  @ParamTypes(Object, ClassifyDto)
  classify(@Tenant() t: TenantContext, @Body() dto: ClassifyDto): Promise<ClassificationDto> {
    return this.inference.classify(t.tenantId, dto.model, dto.input);
  }

  @Post('completions')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Continue a prompt with a causal-LM model',
    description:
      'With `stream: true` the answer is server-sent events, sent as the model generates it: `data: {text_completion chunk}` lines, then `data: [DONE]`.',
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ type: TextCompletionDto })
  @ApiErrorResponses(400, 401, 404, 409, 429, 502, 503, 504)
  @ParamTypes(Object, CompletionDto, Object)
  async complete(@Tenant() t: TenantContext, @Body() dto: CompletionDto, @Res() res: Response): Promise<void> {
    const o = { maxTokens: dto.max_tokens, temperature: dto.temperature, seed: dto.seed };
    if (dto.stream !== true) {
      res.status(200).json(await this.inference.complete(t.tenantId, dto.model, dto.prompt, o));
      return;
    }
    const answer = await this.inference.completeStream(t.tenantId, dto.model, dto.prompt, o, clientGone(res));
    await relayOpenAiStream(res, completionChunks(answer, dto.stream_options?.include_usage === true));
  }

  @Post('chat/completions')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Answer a conversation with a causal-LM model (the chat template is in the gateway README)',
    description:
      'With `stream: true` the answer is server-sent events, sent as the model generates it: `data: {chat.completion.chunk}` lines, then `data: [DONE]`.',
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ type: ChatCompletionDto })
  @ApiErrorResponses(400, 401, 404, 409, 429, 502, 503, 504)
  @ParamTypes(Object, ChatCompletionRequestDto, Object)
  async chat(@Tenant() t: TenantContext, @Body() dto: ChatCompletionRequestDto, @Res() res: Response): Promise<void> {
    if (dto.max_tokens !== undefined && dto.max_completion_tokens !== undefined) {
      throw new ApiError(400, 'invalid_request', 'give max_tokens or max_completion_tokens, not both', 'max_completion_tokens');
    }
    const o = { maxTokens: dto.max_completion_tokens ?? dto.max_tokens, temperature: dto.temperature, seed: dto.seed };
    const gone = clientGone(res);
    if (dto.stream !== true) {
      res.status(200).json(await this.inference.chat(t.tenantId, dto.model, dto.messages, o, gone));
      return;
    }
    const answer = await this.inference.chatStream(t.tenantId, dto.model, dto.messages, o, gone);
    await relayOpenAiStream(res, chatChunks(answer, dto.stream_options?.include_usage === true));
  }

  @Get('models')
  @ApiOperation({ summary: 'List the models you may use: the base models and your succeeded fine-tuned models' })
  @ApiOkResponse({ type: ModelListDto })
  @ApiErrorResponses(401, 429)
  @ParamTypes(Object)
  models(@Tenant() t: TenantContext): Promise<ModelListDto> {
    return this.inference.models(t.tenantId);
  }

  @Get('models/:model')
  @ApiOperation({ summary: 'Get a model you may use' })
  @ApiOkResponse({ type: ModelDto })
  @ApiErrorResponses(401, 404, 429)
  @ParamTypes(Object, String)
  model(@Tenant() t: TenantContext, @Param('model') model: string): Promise<ModelDto> {
    return this.inference.model(t.tenantId, model);
  }
}
