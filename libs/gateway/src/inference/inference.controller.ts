import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ParamTypes } from '../common/param-types.decorator';
import { Tenant, type TenantContext } from '../auth/auth.decorators';
import { ApiErrorResponses } from '../errors/api-error-responses.decorator';
import { ClassificationDto, ClassifyDto, CompletionDto, ModelDto, ModelListDto, TextCompletionDto } from './dto/inference.dto';
import { InferenceService } from './inference.service';

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
  @ApiOperation({ summary: 'Continue a prompt with a causal-LM model' })
  @ApiOkResponse({ type: TextCompletionDto })
  @ApiErrorResponses(400, 401, 404, 409, 429, 502, 503, 504)
  @ParamTypes(Object, CompletionDto)
  complete(@Tenant() t: TenantContext, @Body() dto: CompletionDto): Promise<TextCompletionDto> {
    return this.inference.complete(t.tenantId, dto.model, dto.prompt, dto.max_tokens, dto.temperature, dto.seed);
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
