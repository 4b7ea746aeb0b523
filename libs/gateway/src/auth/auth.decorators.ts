import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/** Who may call a route. */
export type AuthKind = 'tenant' | 'admin' | 'public';

/** Metadata key of {@link AuthKind} (on the handler or the controller). */
export const AUTH_KIND = 'cola:auth-kind';

/** No key needed (health, docs, metrics). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(AUTH_KIND, 'public' satisfies AuthKind);

/** Only the admin key (tenants and their API keys). */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(AUTH_KIND, 'admin' satisfies AuthKind);

/** The tenant a request acts for, set by the auth guard. */
export interface TenantContext {
  tenantId: string;
}

/** A request after the auth guard. */
export interface AuthedRequest extends Request {
  tenant?: TenantContext;
}

/**
 * The authenticated tenant of a tenant route. Every data access of a tenant route is scoped by
 * this, never by an id the client sends.
 */
export const Tenant = createParamDecorator((_data: unknown, ctx: ExecutionContext): TenantContext => {
  const tenant = ctx.switchToHttp().getRequest<AuthedRequest>().tenant;
  // The guard runs before any handler; a route without it is a wiring bug, not a client error.
  if (!tenant) throw new Error('Tenant() used on a route that is not authenticated as a tenant');
  return tenant;
});
