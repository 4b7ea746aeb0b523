import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { ENV } from '@cola/config';
import { initBackend } from '@cola/gl';
import { InferenceClient, type GenerateRequest, type GenerateResponse, type StatusResponse } from '@cola/proto';
import { freePort, runUntilExit, ServiceProcess, useRedis } from '@cola/testing';
import { removeDir, writeTinyCheckpoint } from '@cola/devstack';

function call<Req, Res>(fn: (req: Req, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

// One top-level suite: node 20 runs file-level hooks once per top-level test, not once per file.
describe('the merger process', () => {
  const redis = useRedis();
  let modelDir: string;
  let merger: ServiceProcess | undefined;

  before(async () => {
    await initBackend({ log: null });
    modelDir = await writeTinyCheckpoint(1, 'tiny-base');
  });

  after(async () => {
    await merger?.kill();
    removeDir(dirname(modelDir));
  });

  describe('when its base checkpoint is missing', () => {
    it('should exit 1 saying which directory it looked in', async () => {
      const { code, output } = await runUntilExit('merger', {
        [ENV.REDIS_URL]: redis.url,
        [ENV.COLA_BASE_MODEL_DIR]: join(dirname(modelDir), 'nope'),
        [ENV.MERGER_GRPC_PORT]: '0',
        [ENV.METRICS_PORT]: '0',
      });
      assert.equal(code, 1);
      assert.match(output, /No config\.json in .*nope/);
    });
  });

  describe('when it runs and gets SIGTERM', () => {
    it('should serve gRPC from its checkpoint, answer /healthz, and exit 0', async () => {
      const [grpcPort, metricsPort] = [await freePort(), await freePort()];
      merger = new ServiceProcess({
        name: 'merger',
        app: 'merger',
        env: {
          [ENV.REDIS_URL]: redis.url,
          [ENV.COLA_BASE_MODEL_DIR]: modelDir,
          [ENV.MERGER_GRPC_PORT]: String(grpcPort),
          [ENV.METRICS_PORT]: String(metricsPort),
          [ENV.LOG_LEVEL]: 'warn',
        },
        healthUrl: `http://127.0.0.1:${metricsPort}/healthz`,
        log: () => undefined,
      });
      await merger.start();
      const client = new InferenceClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
      const status = await call<object, StatusResponse>(client.status.bind(client), {});
      assert.deepEqual(
        status.models.map((m) => [m.name, m.baseModel]),
        [['base', 'tiny-base']],
      );
      const gen = await call<GenerateRequest, GenerateResponse>(client.generate.bind(client), {
        model: 'base',
        prompt: 'ab',
        maxNewTokens: 3,
        temperature: 0,
        seed: 0,
      });
      assert.ok(gen.completionTokens >= 1 && gen.completionTokens <= 3);
      client.close();
      assert.equal(await merger.stop('SIGTERM'), 0);
    });
  });
});
