import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENV } from '@cola/config';
import { initBackend } from '@cola/gl';
import { initGptModel, saveCheckpoint } from '@cola/model';
import { freePort, ServiceProcess, useRedis } from '@cola/testing';

// One top-level suite: node 20 runs file-level hooks once per top-level test, not once per file.
describe('the gpu-host process', () => {
  const redis = useRedis();
  let dir: string;
  let host: ServiceProcess | undefined;

  before(async () => {
    await initBackend({ log: null });
    dir = await mkdtemp(join(tmpdir(), 'cola-gpu-host-app-'));
    const base = initGptModel({ vocabSize: 258, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 }, { seed: 1 });
    await saveCheckpoint(join(dir, 'tiny-base'), base);
    base.dispose();
  });

  after(async () => {
    await host?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  describe('when its environment is invalid', () => {
    it('should exit 1 and list every problem with its fix', async () => {
      const p = new ServiceProcess({
        name: 'gpu-host-bad-env',
        app: 'gpu-host',
        env: { [ENV.REDIS_URL]: 'http://localhost', [ENV.COLA_MAX_ACTIVE_JOBS]: '0' },
        log: () => undefined,
      });
      await p.start();
      assert.equal(await p.exited(), 1);
      const out = p.logs.join('\n');
      assert.match(out, /2 problems/);
      assert.match(out, /REDIS_URL="http:\/\/localhost" is invalid: use a URL starting with redis:\/\//);
      assert.match(out, /COLA_MAX_ACTIVE_JOBS="0" is invalid: use an integer between 1 and 1024/);
    });
  });

  describe('when it runs and gets SIGTERM', () => {
    it('should load its checkpoint, answer /healthz and /metrics, and exit 0', async () => {
      const port = await freePort();
      host = new ServiceProcess({
        name: 'gpu-host',
        app: 'gpu-host',
        env: {
          [ENV.REDIS_URL]: redis.url,
          [ENV.COLA_BASE_MODEL_DIR]: join(dir, 'tiny-base'),
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
