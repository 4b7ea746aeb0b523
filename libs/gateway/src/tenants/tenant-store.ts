import type { Redis } from 'ioredis';
import { keys } from '@cola/config';

/** An API key's record in its tenant's hash (field `key:<id>`); the key itself is never stored. */
export interface StoredApiKey {
  id: string;
  name: string | null;
  /** Hex SHA-256 of the key: what authentication looks up. */
  sha256: string;
  /** The key with all but its ends hidden, for listings. */
  redacted: string;
  createdAt: number;
  revokedAt: number | null;
}

/** A tenant as stored: its name, when it was created and its keys (revoked ones included). */
export interface TenantRecord {
  name: string | null;
  createdAt: number;
  apiKeys: StoredApiKey[];
}

const KEY_FIELD = 'key:';

/**
 * Tenants and their API keys in Redis, the one typed place that reads and writes them. A tenant
 * is the hash `keys.tenant(id)` (`name`, `created_at`, and one `key:<id>` field per API key).
 * Authentication only needs `keys.apiKey(sha256)` → tenant id; revoking deletes that entry and
 * keeps the record (with its `revokedAt`) for audits.
 */
export class TenantStore {
  constructor(private readonly redis: Redis) {}

  /** Creates the tenant; false when the id is taken (nothing is written then). */
  async create(tenantId: string, name: string | undefined, createdAt: number): Promise<boolean> {
    if (!(await this.redis.hsetnx(keys.tenant(tenantId), 'created_at', String(createdAt)))) return false;
    if (name) await this.redis.hset(keys.tenant(tenantId), 'name', name);
    return true;
  }

  /** The tenant, or null when there is none. */
  async get(tenantId: string): Promise<TenantRecord | null> {
    const h = await this.redis.hgetall(keys.tenant(tenantId));
    if (!h.created_at) return null;
    const apiKeys = Object.entries(h)
      .filter(([f]) => f.startsWith(KEY_FIELD))
      .map(([, v]) => JSON.parse(v) as StoredApiKey);
    return { name: h.name ?? null, createdAt: Number(h.created_at), apiKeys };
  }

  /** One key of the tenant, or null. */
  async apiKey(tenantId: string, keyId: string): Promise<StoredApiKey | null> {
    const raw = await this.redis.hget(keys.tenant(tenantId), `${KEY_FIELD}${keyId}`);
    return raw ? (JSON.parse(raw) as StoredApiKey) : null;
  }

  /** Records a key (revoked or not) and, while it is not revoked, lets it authenticate as the tenant. */
  async putApiKey(tenantId: string, key: StoredApiKey): Promise<void> {
    const tx = this.redis.multi();
    if (key.revokedAt === null) tx.set(keys.apiKey(key.sha256), tenantId);
    else tx.del(keys.apiKey(key.sha256));
    await tx.hset(keys.tenant(tenantId), `${KEY_FIELD}${key.id}`, JSON.stringify(key)).exec();
  }

  /** The tenant a key (by its SHA-256) authenticates as, or null when it is unknown or revoked. */
  tenantOfKey(sha256: string): Promise<string | null> {
    return this.redis.get(keys.apiKey(sha256));
  }
}
