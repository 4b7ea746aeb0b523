import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENV } from '@cola/config';
import { assertEnvRefused, freePort, runUntilExit, ServiceProcess, useRedis } from '@cola/testing';

// One top-level suite: node 20 runs file-level hooks once per top-level test, not once per file.
describe('the gateway process', () => {
  const redis = useRedis();

  describe('when its environment is invalid', () => {
    it('should exit 1 and list every problem with its fix', () =>
      assertEnvRefused(
        'gateway',
        { [ENV.REDIS_URL]: 'http://localhost', [ENV.GATEWAY_RATE_LIMIT]: '0', [ENV.GATEWAY_ADMIN_KEY]: 'short' },
        [
          /REDIS_URL="http:\/\/localhost" is invalid: use a URL starting with redis:\/\//,
          /GATEWAY_RATE_LIMIT="0" is invalid: use an integer >= 1/,
        ],
      ));

    it('should refuse an admin key too short to be safe', async () => {
      const { code, output } = await runUntilExit('gateway', {
        [ENV.REDIS_URL]: redis.url,
        [ENV.GATEWAY_PORT]: '0',
        [ENV.GATEWAY_ADMIN_KEY]: 'short',
      });
      assert.equal(code, 1);
      assert.match(output, /adminKey must be at least 16 characters/);
    });
  });

  describe('when it runs and gets SIGTERM', () => {
    let gateway: ServiceProcess | undefined;
    after(() => gateway?.kill());

    it('should serve the API and the docs, then shut down gracefully', async () => {
      const port = await freePort();
      gateway = new ServiceProcess({
        name: 'gateway',
        app: 'gateway',
        env: {
          [ENV.REDIS_URL]: redis.url,
          [ENV.GATEWAY_PORT]: String(port),
          [ENV.GATEWAY_ADMIN_KEY]: 'an-admin-key-of-the-test',
          [ENV.LOG_LEVEL]: 'info',
        },
        healthUrl: `http://127.0.0.1:${port}/healthz`,
        log: () => undefined,
      });
      await gateway.start();
      const tenant = await fetch(`http://127.0.0.1:${port}/v1/admin/tenants`, {
        method: 'POST',
        headers: { authorization: 'Bearer an-admin-key-of-the-test', 'content-type': 'application/json' },
        body: '{"id":"acme"}',
      });
      assert.equal(tenant.status, 201);
      const doc = (await (await fetch(`http://127.0.0.1:${port}/docs-json`)).json()) as { paths: Record<string, unknown> };
      assert.ok('/v1/fine_tuning/jobs' in doc.paths);
      const t0 = Date.now();
      await gateway.stop('SIGTERM', 10_000);
      assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
      assert.match(gateway.logs.join('\n'), /shut down: HTTP server, event streams, Redis and gRPC connections closed/);
      assert.match(gateway.logs.join('\n'), /"message":"gateway ready".*"port":\d+/);
      // Every line is written by now. One line per request, its credentials redacted: the admin key never reaches the log.
      assert.match(gateway.logs.join('\n'), /"url":"\/v1\/admin\/tenants".*"authorization":"\[redacted\]".*"statusCode":201/);
      assert.doesNotMatch(gateway.logs.join('\n'), /an-admin-key-of-the-test/);
    });
  });
});
