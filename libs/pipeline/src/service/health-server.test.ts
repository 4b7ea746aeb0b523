import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHealthServer } from './health-server';
import { ColaMetrics, createServiceRegistry } from '@cola/metrics';

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
