import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { ApiError } from '../errors/api-error';
import { TenantStore } from '../tenants/tenant-store';
import type { ResolvedGatewayOptions } from '../core/gateway-options';
import { GATEWAY_OPTIONS, REDIS } from '../core/tokens';
import { hashApiKey, sameSecret } from './api-keys';
import { AUTH_KIND, type AuthedRequest, type AuthKind } from './auth.decorators';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * The global auth guard. Tenant routes (the default) need `Authorization: Bearer <api key>`: the
 * key's SHA-256 is looked up in the {@link TenantStore}, which holds the owning tenant id; a revoked key's
 * entry is deleted, so it fails exactly like an unknown one. Admin routes need the admin key
 * from the environment. `@Public()` routes need nothing.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly tenants: TenantStore;

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(REDIS) redis: Redis,
    @Inject(GATEWAY_OPTIONS) private readonly options: ResolvedGatewayOptions,
  ) {
    this.tenants = new TenantStore(redis);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const kind = this.reflector.getAllAndOverride<AuthKind | undefined>(AUTH_KIND, [ctx.getHandler(), ctx.getClass()]) ?? 'tenant';
    if (kind === 'public') return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const header = req.header('authorization');
    if (kind === 'admin' && this.options.adminKey === undefined) {
      throw new ApiError(403, 'admin_disabled', 'The admin routes are disabled: start the gateway with GATEWAY_ADMIN_KEY set');
    }
    if (!header) throw new ApiError(401, 'missing_api_key', 'No API key: send it as "Authorization: Bearer <key>"');
    const token = BEARER.exec(header)?.[1];
    if (!token) throw new ApiError(401, 'invalid_api_key', 'Malformed Authorization header: use "Authorization: Bearer <key>"');
    if (kind === 'admin') {
      if (!sameSecret(token, this.options.adminKey!)) throw new ApiError(401, 'invalid_admin_key', 'This route needs the admin key');
      return true;
    }
    const tenantId = await this.tenants.tenantOfKey(hashApiKey(token));
    if (!tenantId) throw new ApiError(401, 'invalid_api_key', 'Incorrect or revoked API key; ask your administrator for a new one');
    req.tenant = { tenantId };
    return true;
  }
}
