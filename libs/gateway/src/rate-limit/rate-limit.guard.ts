import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { ApiError } from '../errors/api-error';
import type { AuthedRequest } from '../auth/auth.decorators';
import type { ResolvedGatewayOptions } from '../core/gateway-options';
import { GATEWAY_OPTIONS, REDIS } from '../core/tokens';
import { RateLimiter } from './rate-limiter';

/**
 * The global per-tenant rate limit. Registered after the auth guard, so it sees the tenant; admin
 * and public routes are not counted. Every tenant response carries OpenAI-style
 * `x-ratelimit-*-requests` headers; over the limit it is a 429 with `Retry-After`.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly limiter: RateLimiter | undefined;

  constructor(@Inject(REDIS) redis: Redis, @Inject(GATEWAY_OPTIONS) options: ResolvedGatewayOptions) {
    this.limiter = options.rateLimit ? new RateLimiter(redis, options.rateLimit.limit, options.rateLimit.windowSeconds) : undefined;
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const tenant = ctx.switchToHttp().getRequest<AuthedRequest>().tenant;
    if (!this.limiter || !tenant) return true;
    const d = await this.limiter.hit(tenant.tenantId);
    const resetSeconds = Math.max(1, Math.ceil(d.resetMs / 1000));
    const res = ctx.switchToHttp().getResponse<Response>();
    res.setHeader('x-ratelimit-limit-requests', String(d.limit));
    res.setHeader('x-ratelimit-remaining-requests', String(d.remaining));
    res.setHeader('x-ratelimit-reset-requests', `${resetSeconds}s`);
    if (!d.allowed) {
      throw new ApiError(
        429,
        'rate_limit_exceeded',
        `Rate limit of ${d.limit} requests per window reached; retry in ${resetSeconds} s`,
        null,
        { 'Retry-After': String(resetSeconds) },
      );
    }
    return true;
  }
}
