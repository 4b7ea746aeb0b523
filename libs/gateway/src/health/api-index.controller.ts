import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { ParamTypes } from '../common/param-types.decorator';

export class ApiIndexDto {
  @ApiProperty({ type: String, enum: ['api'] }) object!: 'api';
  @ApiProperty({ type: String }) name!: string;
  @ApiProperty({ type: String, description: 'Swagger UI.' }) docs!: string;
  @ApiProperty({ type: String, description: 'The OpenAPI document.' }) openapi!: string;
  @ApiProperty({ type: String, description: 'The web status page.' }) status_page!: string;
  @ApiProperty({ type: String, description: 'How to authenticate.' }) auth!: string;
}

/**
 * `GET /v1`: the base URL an OpenAI client is pointed at answers with where to go next, rather
 * than a 404, so the URL `npm start` prints works in a browser too. Public: it holds no data.
 */
@ApiTags('health')
@Public()
@Controller('v1')
export class ApiIndexController {
  @Get()
  @ApiOperation({ summary: 'The API root: links to the docs, the OpenAPI document and the status page' })
  @ApiOkResponse({ type: ApiIndexDto })
  @ParamTypes()
  index(): ApiIndexDto {
    return {
      object: 'api',
      name: 'ColA FTaaS (OpenAI-compatible fine-tuning API)',
      docs: '/docs',
      openapi: '/docs-json',
      status_page: '/status',
      auth: 'Authorization: Bearer <tenant API key> on every /v1 route; admin routes take the admin key',
    };
  }
}
