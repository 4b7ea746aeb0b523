import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { Redis } from 'ioredis';
import { ParamTypes } from '../common/param-types.decorator';
import { Public } from '../auth/auth.decorators';
import { ApiError } from '../errors/api-error';
import { ApiErrorResponses } from '../errors/api-error-responses.decorator';
import type { ResolvedGatewayOptions } from '../core/gateway-options';
import { GATEWAY_OPTIONS, REDIS } from '../core/tokens';
import { MergerClient } from '../inference/merger-client';

export class HealthDto {
  @ApiProperty({ type: String, enum: ['ok'] }) status!: 'ok';
  @ApiProperty({ type: Object, required: false, description: 'Each dependency checked, with "ok".' }) checks?: Record<string, string>;
}

/** Resolves with `p`, or rejects after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Liveness and readiness probes (Kubernetes: livenessProbe /healthz, readinessProbe /readyz). */
@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(MergerClient) private readonly merger: MergerClient,
    @Inject(GATEWAY_OPTIONS) private readonly options: ResolvedGatewayOptions,
  ) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the process serves HTTP' })
  @ApiOkResponse({ type: HealthDto })
  @ParamTypes()
  healthz(): HealthDto {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: Redis answers PING and the merger answers Status' })
  @ApiOkResponse({ type: HealthDto })
  @ApiErrorResponses(503)
  @ParamTypes()
  async readyz(): Promise<HealthDto> {
    const ms = this.options.readinessTimeoutMs;
    const [redis, merger] = await Promise.allSettled([within(this.redis.ping(), ms, 'Redis'), this.merger.status(ms)]);
    const describe = (r: PromiseSettledResult<unknown>): string => (r.status === 'fulfilled' ? 'ok' : (r.reason as Error).message);
    const checks = { redis: describe(redis), merger: describe(merger) };
    if (redis.status === 'rejected' || merger.status === 'rejected') {
      throw new ApiError(503, 'not_ready', `Not ready: redis: ${checks.redis}; merger: ${checks.merger}`);
    }
    return { status: 'ok', checks };
  }
}
