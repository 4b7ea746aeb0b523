import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keys } from '@cola/config';
import { hashApiKey } from '../src';
import { useRedis } from '@cola/testing';
import type { ErrorShape } from './support/gateway-client';
import { ADMIN_KEY, startTestGateway, type TestGateway } from './support/gateway-fixture';

describe('when tenants and API keys are managed', () => {
  const redis = useRedis();
  let gw: TestGateway;

  before(async () => {
    gw = await startTestGateway(redis);
  });
  after(() => gw.close());

  it('should require the admin key for the admin routes', async () => {
    const none = await gw.api.post<ErrorShape>('/v1/admin/tenants', { id: 'acme' });
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'missing_api_key');
    const wrong = await gw.api.post<ErrorShape>('/v1/admin/tenants', { id: 'acme' }, 'not-the-admin-key');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'invalid_admin_key');
    const tenantKey = await gw.tenant('acme-first');
    const asTenant = await gw.api.post<ErrorShape>('/v1/admin/tenants', { id: 'acme' }, tenantKey);
    assert.equal(asTenant.status, 401, 'a tenant key is not the admin key');
    assert.equal(await redis.client().exists(keys.tenant('acme')), 0, 'nothing was created');
  });

  it('should create a tenant once and refuse a duplicate id or a bad one', async () => {
    const created = await gw.api.post<{ id: string; object: string; name: string; api_key: { key: string; tenant_id: string } }>(
      '/v1/admin/tenants',
      { id: 'acme', name: 'ACME' },
      ADMIN_KEY,
    );
    assert.equal(created.status, 201);
    assert.deepEqual([created.body.object, created.body.id, created.body.name], ['tenant', 'acme', 'ACME']);
    // The first key comes with the tenant, shown once, and works at once.
    assert.match(created.body.api_key.key, /^sk-cola-[A-Za-z0-9]{40}$/);
    assert.equal(created.body.api_key.tenant_id, 'acme');
    assert.equal((await gw.api.get('/v1/files', created.body.api_key.key)).status, 200);
    const again = await gw.api.post<ErrorShape>('/v1/admin/tenants', { id: 'acme' }, ADMIN_KEY);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'tenant_exists');
    const bad = await gw.api.post<ErrorShape>('/v1/admin/tenants', { id: 'a:b' }, ADMIN_KEY);
    assert.equal(bad.status, 400);
    assert.deepEqual([bad.body.error.code, bad.body.error.param], ['invalid_request', 'id']);
    const minted = await gw.api.post<{ id: string }>('/v1/admin/tenants', {}, ADMIN_KEY);
    assert.match(minted.body.id, /^tenant-[A-Za-z0-9]{12}$/);
    assert.equal((await gw.api.get<ErrorShape>('/v1/admin/tenants/nobody', ADMIN_KEY)).body.error.code, 'not_found');
  });

  it('should store only the SHA-256 of a key, and authenticate with the key', async () => {
    const res = await gw.api.post<{ key: string; id: string; redacted_key: string }>(
      '/v1/admin/tenants/acme/api_keys',
      { name: 'ci' },
      ADMIN_KEY,
    );
    assert.equal(res.status, 201);
    const { key } = res.body;
    assert.match(key, /^sk-cola-[A-Za-z0-9]{40}$/);
    assert.equal(res.body.redacted_key, `sk-cola-…${key.slice(-4)}`);
    const client = redis.client();
    assert.equal(await client.get(keys.apiKey(hashApiKey(key))), 'acme');
    // The key itself appears nowhere in Redis: scan every value of every key.
    for (const k of await client.keys('*')) {
      const type = await client.type(k);
      const dump = type === 'string' ? await client.get(k) : type === 'hash' ? JSON.stringify(await client.hgetall(k)) : '';
      assert.ok(!dump?.includes(key), `${k} holds the plain key`);
    }
    const ok = await gw.api.get<{ object: string }>('/v1/files', key);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.object, 'list');
    const listed = await gw.api.get<{ data: { id: string; redacted_key: string; revoked_at: number | null }[] }>(
      '/v1/admin/tenants/acme/api_keys',
      ADMIN_KEY,
    );
    // This key and the first one tenant creation issued.
    const ids = listed.body.data.map((k) => k.id);
    assert.equal(ids.length, 2, ids.join(', '));
    assert.ok(ids.includes(res.body.id));
    assert.ok(!listed.text.includes(key), 'listing shows no key');
  });

  it('should answer 401 at once for a revoked key, a malformed header and an unknown key', async () => {
    const { key, id } = (await gw.api.post<{ key: string; id: string }>('/v1/admin/tenants/acme/api_keys', {}, ADMIN_KEY)).body;
    assert.equal((await gw.api.get('/v1/fine_tuning/jobs', key)).status, 200);
    const revoked = await gw.api.request<{ revoked_at: number | null }>('DELETE', `/v1/admin/tenants/acme/api_keys/${id}`, {
      key: ADMIN_KEY,
    });
    assert.equal(revoked.status, 200);
    assert.ok(revoked.body.revoked_at !== null);
    const after = await gw.api.get<ErrorShape>('/v1/fine_tuning/jobs', key);
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, 'invalid_api_key');
    const malformed = await gw.api.request<ErrorShape>('GET', '/v1/files', { headers: { authorization: `Basic ${key}` } });
    assert.deepEqual([malformed.status, malformed.body.error.code], [401, 'invalid_api_key']);
    const unknown = await gw.api.get<ErrorShape>('/v1/files', 'sk-cola-unknown');
    assert.deepEqual([unknown.status, unknown.body.error.code], [401, 'invalid_api_key']);
    const missingKey = await gw.api.request<ErrorShape>('DELETE', '/v1/admin/tenants/acme/api_keys/key-nope', { key: ADMIN_KEY });
    assert.deepEqual([missingKey.status, missingKey.body.error.code], [404, 'not_found']);
  });
});

describe('when the gateway runs without an admin key', () => {
  const redis = useRedis();
  let gw: TestGateway;

  before(async () => {
    gw = await startTestGateway(redis, { adminKey: undefined });
  });
  after(() => gw.close());

  it('should refuse the admin routes with a code that says how to enable them', async () => {
    const res = await gw.api.post<ErrorShape>('/v1/admin/tenants', { id: 'acme' }, ADMIN_KEY);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'admin_disabled');
    assert.match(res.body.error.message, /GATEWAY_ADMIN_KEY/);
  });
});
