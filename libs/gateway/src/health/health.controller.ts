import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { Redis } from 'ioredis';
import { HEARTBEAT_SERVICES, TTLS } from '@cola/config';
import { liveInstances } from '@cola/pipeline';
import { ParamTypes } from '../common/param-types.decorator';
import { Public } from '../auth/auth.decorators';
import { ApiError } from '../errors/api-error';
import { ApiErrorResponses } from '../errors/api-error-responses.decorator';
import type { ResolvedGatewayOptions } from '../core/gateway-options';
import { GATEWAY_OPTIONS, REDIS } from '../core/tokens';
import { MergerClient } from '../inference/merger-client';

export class HealthDto {
  @ApiProperty({
    type: String,
    enum: ['ok', 'degraded'],
    description:
      '`degraded`: the API serves, but a worker fleet (gpu-host, aux-trainer, merger) has no live instance, so jobs do not progress.',
  })
  status!: 'ok' | 'degraded';
  @ApiProperty({ type: Object, required: false, description: 'Each dependency checked, with "ok".' }) checks?: Record<string, string>;
  @ApiProperty({
    type: Object,
    required: false,
    description: 'Each worker fleet (gpu-host, aux-trainer, merger): "ok (N live)" or why it counts as missing.',
  })
  fleets?: Record<string, string>;
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

  /**
   * 503 when the gateway cannot serve (Redis or the merger does not answer). A worker fleet
   * without a live instance (no heartbeat) is reported as `degraded` with 200: the gateway itself
   * still serves reads and accepts jobs, which wait in the queue, so taking it out of the load
   * balancer would only make things worse.
   */
  @Get('readyz')
  @ApiOperation({
    summary: 'Readiness: Redis answers PING and the merger answers Status; degraded when a worker fleet has no live instance',
  })
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
    let degraded = false;
    const fleets: Record<string, string> = {};
    for (const service of HEARTBEAT_SERVICES) {
      const live = await within(liveInstances(this.redis, service), ms, 'Redis').catch(() => -1);
      if (live > 0) fleets[service] = `ok (${live} live)`;
      else {
        degraded = true;
        fleets[service] = live === 0 ? `no live instance (no heartbeat within ${TTLS.heartbeatSeconds} s)` : 'unknown';
      }
    }
    return { status: degraded ? 'degraded' : 'ok', checks, fleets };
  }
}
