import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dockerHints, freePort, isDockerReachable } from './index';

// Its own file, hence its own process: testcontainers caches its runtime configuration, and this
// file changes DOCKER_HOST before testcontainers first reads it.

describe('when looking for a Docker engine', () => {
  it('should answer within the 2 s budget', async () => {
    const started = performance.now();
    const reachable = await isDockerReachable();
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 2500, `took ${elapsed.toFixed(0)} ms`);
    if (dockerHints().length === 0) assert.equal(reachable, false);
  });

  it('should answer false at once when nothing hints at an engine', async () => {
    const env = { HOME: '/nonexistent-home' };
    if (dockerHints(env).length > 0) return; // a real socket exists on this machine
    const started = performance.now();
    assert.equal(await isDockerReachable({ env }), false);
    assert.ok(performance.now() - started < 100);
  });

  it('should give up on a DOCKER_HOST that does not answer, within the timeout', async () => {
    // An engine this process already knows of (a DOCKER_HOST set from the start, as CI's Docker
    // stage sets it) may be cached by testcontainers from an earlier probe, and answer.
    const others = [...dockerHints({ HOME: process.env.HOME }), ...(process.env.DOCKER_HOST ? [process.env.DOCKER_HOST] : [])];
    const closed = await freePort();
    const previous = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${closed}`;
    try {
      assert.deepEqual(dockerHints().slice(0, 1), [`DOCKER_HOST=tcp://127.0.0.1:${closed}`]);
      const started = performance.now();
      const reachable = await isDockerReachable({ timeoutMs: 1500 });
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
      // Testcontainers falls back to other strategies (a real socket) when DOCKER_HOST fails, or
      // keeps the engine it found first.
      if (others.length === 0) assert.equal(reachable, false);
    } finally {
      if (previous === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = previous;
    }
  });
});
