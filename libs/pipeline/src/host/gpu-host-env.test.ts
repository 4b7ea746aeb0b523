import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_REDIS_URL, EnvConfigError, PORTS, TTLS } from '@cola/config';
import { baseModelDirOf, gpuHostEnv } from './gpu-host-env';
import { startHealthServer } from '../service/health-server';
import { ColaMetrics, createServiceRegistry } from '@cola/metrics';

describe('when the gpu-host reads its environment', () => {
  it('should need no variable at all (embedded defaults)', () => {
    const env = gpuHostEnv.load({});
    assert.equal(env.REDIS_URL, DEFAULT_REDIS_URL);
    assert.equal(env.METRICS_PORT, PORTS.metrics.gpuHost);
    assert.equal(env.PAYLOAD_TTL_SECONDS, TTLS.payloadSeconds);
    assert.equal(env.COLA_MAX_ACTIVE_JOBS, 4);
    assert.equal(env.COLA_MAX_TENANTS_PER_BATCH, 4);
    assert.equal(baseModelDirOf(env), 'models/cola-tiny');
  });

  it('should take COLA_BASE_MODEL_DIR over MODEL_DIR, and MODEL_DIR alone', () => {
    assert.equal(baseModelDirOf(gpuHostEnv.load({ MODEL_DIR: '/m', COLA_BASE_MODEL_DIR: '/base' })), '/base');
    assert.equal(baseModelDirOf(gpuHostEnv.load({ MODEL_DIR: '/m' })), '/m');
  });

  it('should list every bad variable with how to fix it', () => {
    assert.throws(
      () => gpuHostEnv.load({ COLA_MAX_ACTIVE_JOBS: '0', COLA_MAX_TENANTS_PER_BATCH: 'many', REDIS_URL: 'http://x' }),
      (e: unknown) =>
        e instanceof EnvConfigError &&
        e.problems.length === 3 &&
        /COLA_MAX_ACTIVE_JOBS="0" is invalid: use an integer between 1 and 1024/.test(e.message),
    );
  });
});

describe('when the health endpoint is asked', () => {
  it('should answer GET /metrics in the Prometheus text format when given a registry', async () => {
    const registry = createServiceRegistry('gpu-host');
    ColaMetrics.of(registry).registerService('gpu-host').counter('hostSteps').inc(3);
    const server = await startHealthServer(0, () => ({}), '127.0.0.1', registry);
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const body = await res.text();
      assert.match(body, /^cola_host_steps_total\{service="gpu-host"\} 3$/m);
      assert.match(body, /^nodejs_heap_size_used_bytes\{service="gpu-host"\} \d+/m, 'default metrics are served too');
    } finally {
      await server.close();
    }
    const bare = await startHealthServer(0, () => ({}), '127.0.0.1');
    try {
      assert.equal((await fetch(`http://127.0.0.1:${bare.port}/metrics`)).status, 404, 'no registry, no /metrics');
    } finally {
      await bare.close();
    }
  });

  it('should answer GET /healthz with 200 and the status, anything else with 404', async () => {
    const server = await startHealthServer(0, () => ({ activeJobs: 2 }), '127.0.0.1');
    try {
      const ok = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { status: 'ok', activeJobs: 2 });
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/nope`)).status, 404);
    } finally {
      await server.close();
    }
  });
});
