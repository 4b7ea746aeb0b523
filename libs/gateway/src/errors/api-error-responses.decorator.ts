import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';

export class ApiErrorDetailDto {
  @ApiProperty({
    type: String,
    description: 'Machine-readable code, e.g. `invalid_request`, `not_found`, `rate_limit_exceeded`.',
    example: 'invalid_request',
  })
  code!: string;

  @ApiProperty({ type: String, description: 'What went wrong and how to fix it.' })
  message!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The request field at fault, as a dotted path.',
    example: 'hyperparameters.batch_size',
  })
  param!: string | null;
}

/** The one error shape of the API. */
export class ApiErrorDto {
  @ApiProperty({ type: ApiErrorDetailDto })
  error!: ApiErrorDetailDto;
}

const DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Invalid request (the code and param say which field)',
  401: 'Missing, malformed, unknown or revoked API key',
  403: 'Forbidden (e.g. admin routes disabled)',
  404: 'Not found, or not yours (both answer the same)',
  409: 'Conflict with the resource state',
  413: 'Body or file too large',
  429: 'Rate limit exceeded (see Retry-After)',
  502: 'The merger failed',
  503: 'A dependency (Redis, the merger) is unavailable',
  504: 'The merger did not answer in time',
};

/** Documents the error responses of a route, all with {@link ApiErrorDto}. 429 is added for tenant routes by the caller. */
export function ApiErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) => ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'Error', type: ApiErrorDto })),
  );
}
