import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { keys } from '@cola/config';
import { isUsableId, newId, unixSeconds } from '../common/ids';
import { page, type Page } from '../common/pagination';
import { ApiError, notFound } from '../errors/api-error';
import { hashApiKey, mintApiKey, redactKey } from '../auth/api-keys';
import { REDIS } from '../core/tokens';
import type { ApiKeyDto, CreatedApiKeyDto, TenantDto } from './dto/tenant.dto';

/** An API key's record in its tenant's hash (field `key:<id>`); the key itself is never stored. */
interface StoredApiKey {
  id: string;
  name: string | null;
  sha256: string;
  redacted: string;
  createdAt: number;
  revokedAt: number | null;
}

const KEY_FIELD = 'key:';

/**
 * Tenants and their API keys. A tenant is the hash `keys.tenant(id)` (`name`, `created_at`, and
 * one `key:<id>` field per API key). Authentication only needs `keys.apiKey(sha256)` → tenant id;
 * revoking deletes that entry and keeps the record (with `revoked_at`) for audits.
 */
@Injectable()
export class TenantsService {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async create(id: string | undefined, name: string | undefined): Promise<TenantDto> {
    const tenantId = id ?? newId.tenant();
    const now = Date.now();
    const created = await this.redis.hsetnx(keys.tenant(tenantId), 'created_at', String(now));
    if (!created)
      throw new ApiError(
        409,
        'tenant_exists',
        `A tenant with id ${JSON.stringify(tenantId)} already exists; choose another id or omit it`,
        'id',
      );
    if (name) await this.redis.hset(keys.tenant(tenantId), 'name', name);
    return { object: 'tenant', id: tenantId, name: name ?? null, created_at: unixSeconds(now) };
  }

  async get(tenantId: string): Promise<TenantDto> {
    const h = await this.record(tenantId);
    return { object: 'tenant', id: tenantId, name: h.name ?? null, created_at: unixSeconds(Number(h.created_at)) };
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
    await this.redis
      .multi()
      .set(keys.apiKey(stored.sha256), tenantId)
      .hset(keys.tenant(tenantId), `${KEY_FIELD}${stored.id}`, JSON.stringify(stored))
      .exec();
    return { ...this.view(tenantId, stored), key };
  }

  async listKeys(tenantId: string): Promise<Page<ApiKeyDto>> {
    const h = await this.record(tenantId);
    const list = Object.entries(h)
      .filter(([f]) => f.startsWith(KEY_FIELD))
      .map(([, v]) => JSON.parse(v) as StoredApiKey)
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((k) => this.view(tenantId, k));
    return page(list, false, (k) => k.id);
  }

  /** Revokes a key at once (idempotent): the next request with it gets 401. */
  async revokeKey(tenantId: string, keyId: string): Promise<ApiKeyDto> {
    await this.record(tenantId);
    const raw = await this.redis.hget(keys.tenant(tenantId), `${KEY_FIELD}${keyId}`);
    if (!raw) throw notFound('API key', keyId);
    const stored = JSON.parse(raw) as StoredApiKey;
    if (stored.revokedAt === null) {
      stored.revokedAt = Date.now();
      await this.redis
        .multi()
        .del(keys.apiKey(stored.sha256))
        .hset(keys.tenant(tenantId), `${KEY_FIELD}${keyId}`, JSON.stringify(stored))
        .exec();
    }
    return this.view(tenantId, stored);
  }

  private async record(tenantId: string): Promise<Record<string, string>> {
    const h = isUsableId(tenantId) ? await this.redis.hgetall(keys.tenant(tenantId)) : {};
    if (!h.created_at) throw notFound('tenant', tenantId);
    return h;
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
