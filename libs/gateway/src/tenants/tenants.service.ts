import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { isUsableId, newId, unixSeconds } from '../common/ids';
import { page, type Page } from '../common/pagination';
import { ApiError, notFound } from '../errors/api-error';
import { hashApiKey, mintApiKey, redactKey } from '../auth/api-keys';
import { REDIS } from '../core/tokens';
import type { ApiKeyDto, CreatedApiKeyDto, TenantDto } from './dto/tenant.dto';
import { TenantStore, type StoredApiKey, type TenantRecord } from './tenant-store';

/**
 * Tenants and their API keys (admin routes), kept in the {@link TenantStore}: a revoked key stops
 * authenticating at once and stays listed with its `revoked_at`.
 */
@Injectable()
export class TenantsService {
  private readonly store: TenantStore;

  constructor(@Inject(REDIS) redis: Redis) {
    this.store = new TenantStore(redis);
  }

  async create(id: string | undefined, name: string | undefined): Promise<TenantDto> {
    const tenantId = id ?? newId.tenant();
    const now = Date.now();
    if (!(await this.store.create(tenantId, name, now)))
      throw new ApiError(
        409,
        'tenant_exists',
        `A tenant with id ${JSON.stringify(tenantId)} already exists; choose another id or omit it`,
        'id',
      );
    return { object: 'tenant', id: tenantId, name: name ?? null, created_at: unixSeconds(now) };
  }

  async get(tenantId: string): Promise<TenantDto> {
    const t = await this.record(tenantId);
    return { object: 'tenant', id: tenantId, name: t.name, created_at: unixSeconds(t.createdAt) };
  }

  async createKey(tenantId: string, name: string | undefined): Promise<CreatedApiKeyDto> {
    await this.record(tenantId);
    const key = mintApiKey();
    const stored: StoredApiKey = {
      id: newId.apiKey(),
      name: name ?? null,
      sha256: hashApiKey(key),
      redacted: redactKey(key),
      createdAt: Date.now(),
      revokedAt: null,
    };
    await this.store.putApiKey(tenantId, stored);
    return { ...this.view(tenantId, stored), key };
  }

  async listKeys(tenantId: string): Promise<Page<ApiKeyDto>> {
    const list = (await this.record(tenantId)).apiKeys.sort((a, b) => b.createdAt - a.createdAt).map((k) => this.view(tenantId, k));
    return page(list, false, (k) => k.id);
  }

  /** Revokes a key at once (idempotent): the next request with it gets 401. */
  async revokeKey(tenantId: string, keyId: string): Promise<ApiKeyDto> {
    await this.record(tenantId);
    const stored = await this.store.apiKey(tenantId, keyId);
    if (!stored) throw notFound('API key', keyId);
    if (stored.revokedAt === null) {
      stored.revokedAt = Date.now();
      await this.store.putApiKey(tenantId, stored);
    }
    return this.view(tenantId, stored);
  }

  private async record(tenantId: string): Promise<TenantRecord> {
    const t = isUsableId(tenantId) ? await this.store.get(tenantId) : null;
    if (!t) throw notFound('tenant', tenantId);
    return t;
  }

  private view(tenantId: string, k: StoredApiKey): ApiKeyDto {
    return {
      object: 'api_key',
      id: k.id,
      tenant_id: tenantId,
      name: k.name,
      redacted_key: k.redacted,
      created_at: unixSeconds(k.createdAt),
      revoked_at: k.revokedAt === null ? null : unixSeconds(k.revokedAt),
    };
  }
}
