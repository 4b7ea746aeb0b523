import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { ENV } from '@cola/config';
import { initBackend } from '@cola/gl';
import { initGptModel, saveCheckpoint } from '@cola/model';
import { InferenceClient, type GenerateRequest, type GenerateResponse, type StatusResponse } from '@cola/proto';
import { freePort, ServiceProcess, useRedis } from '@cola/testing';

function call<Req, Res>(fn: (req: Req, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

// One top-level suite: node 20 runs file-level hooks once per top-level test, not once per file.
describe('the merger process', () => {
  const redis = useRedis();
  let dir: string;
  let merger: ServiceProcess | undefined;

  before(async () => {
    await initBackend({ log: null });
    dir = await mkdtemp(join(tmpdir(), 'cola-merger-app-'));
    const base = initGptModel({ vocabSize: 258, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 }, { seed: 1 });
    await saveCheckpoint(join(dir, 'tiny-base'), base);
    base.dispose();
  });

  after(async () => {
    await merger?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  describe('when its base checkpoint is missing', () => {
    it('should exit 1 saying which directory it looked in', async () => {
      const p = new ServiceProcess({
        name: 'merger-no-model',
        app: 'merger',
        env: {
          [ENV.REDIS_URL]: redis.url,
          [ENV.COLA_BASE_MODEL_DIR]: join(dir, 'nope'),
          [ENV.MERGER_GRPC_PORT]: '0',
          [ENV.METRICS_PORT]: '0',
        },
        log: () => undefined,
      });
      await p.start();
      assert.equal(await p.exited(), 1);
      assert.match(p.logs.join('\n'), /No config\.json in .*nope/);
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
          [ENV.COLA_BASE_MODEL_DIR]: join(dir, 'tiny-base'),
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
