import type { INestApplication } from '@nestjs/common';
import { createGatewayApp, type GatewayOptions } from '../../src';
import { freePort, type RedisFixture } from '@cola/testing';
import { GatewayClient } from './gateway-client';

/** The admin key of the test gateways. */
export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

/** A gateway app in this process, listening on a random port. */
export interface TestGateway {
  app: INestApplication;
  api: GatewayClient;
  /** Creates a tenant and returns a fresh API key of it. */
  tenant(id: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the gateway in-process against the test Redis. The merger address points at a free port
 * with nothing listening unless `mergerAddress` is given: the unit tests run without a merger.
 */
export async function startTestGateway(redis: RedisFixture, over: Partial<GatewayOptions> = {}): Promise<TestGateway> {
  await redis.whenReady();
  const app = await createGatewayApp({
    redisUrl: redis.url,
    mergerAddress: `127.0.0.1:${await freePort()}`,
    adminKey: ADMIN_KEY,
    logLevel: process.env.COLA_TEST_VERBOSE ? 'info' : 'silent',
    rateLimit: { limit: 100_000, windowSeconds: 60 },
    eventsPollMs: 50,
    readinessTimeoutMs: 1000,
    ...over,
  });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const api = new GatewayClient(`http://127.0.0.1:${address.port}`);
  return {
    app,
    api,
    async tenant(id: string): Promise<string> {
      const t = await api.post('/v1/admin/tenants', { id, name: `tenant ${id}` }, ADMIN_KEY);
      if (t.status !== 201) throw new Error(`creating tenant ${id} answered ${t.status}: ${t.text}`);
      const k = await api.post<{ key: string }>(`/v1/admin/tenants/${id}/api_keys`, {}, ADMIN_KEY);
      if (k.status !== 201) throw new Error(`creating a key of ${id} answered ${k.status}: ${k.text}`);
      return k.body.key;
    },
    close: () => app.close(),
  };
}

/** Classification rows as JSONL. */
export function classificationJsonl(rows: ReadonlyArray<[string, string]>): string {
  return rows.map(([text, label]) => JSON.stringify({ text, label })).join('\n') + '\n';
}

/** A small valid classification file. */
export const SMALL_TRAIN = classificationJsonl([
  ['free money now', 'spam'],
  ['meeting at noon', 'ham'],
  ['win a prize', 'spam'],
  ['lunch tomorrow?', 'ham'],
]);
