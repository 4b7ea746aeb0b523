import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { ENV } from '@cola/config';
import { initBackend } from '@cola/gl';
import { assertEnvRefused, freePort, ServiceProcess, useRedis } from '@cola/testing';
import { removeDir, writeTinyCheckpoint } from '@cola/devstack';

// One top-level suite: node 20 runs file-level hooks once per top-level test, not once per file.
describe('the gpu-host process', () => {
  const redis = useRedis();
  let modelDir: string;
  let host: ServiceProcess | undefined;

  before(async () => {
    await initBackend({ log: null });
    modelDir = await writeTinyCheckpoint(1, 'tiny-base');
  });

  after(async () => {
    await host?.kill();
    removeDir(dirname(modelDir));
  });

  describe('when its environment is invalid', () => {
    it('should exit 1 and list every problem with its fix', () =>
      assertEnvRefused('gpu-host', { [ENV.REDIS_URL]: 'http://localhost', [ENV.COLA_MAX_ACTIVE_JOBS]: '0' }, [
        /REDIS_URL="http:\/\/localhost" is invalid: use a URL starting with redis:\/\//,
        /COLA_MAX_ACTIVE_JOBS="0" is invalid: use an integer between 1 and 1024/,
      ]));
  });

  describe('when it runs and gets SIGTERM', () => {
    it('should load its checkpoint, answer /healthz and /metrics, and exit 0', async () => {
      const port = await freePort();
      host = new ServiceProcess({
        name: 'gpu-host',
        app: 'gpu-host',
        env: {
          [ENV.REDIS_URL]: redis.url,
          [ENV.COLA_BASE_MODEL_DIR]: modelDir,
          [ENV.METRICS_PORT]: String(port),
          [ENV.COLA_MAX_ACTIVE_JOBS]: '2',
          [ENV.LOG_LEVEL]: 'warn',
        },
        healthUrl: `http://127.0.0.1:${port}/healthz`,
        log: () => undefined,
      });
      await host.start();
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.deepEqual(await health.json(), { status: 'ok', activeJobs: 0, steps: 0 });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /service="gpu-host"/);
      assert.equal(await host.stop('SIGTERM'), 0);
    });
  });
});
