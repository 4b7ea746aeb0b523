import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EnvConfigError } from '@cola/config';
import { Redis } from 'ioredis';
import { isDockerReachable, pingRedis, startLocalRedisServer, startRedis, type LocalRedisServer } from './index';

describe('when REDIS_URL is set', () => {
  let external: LocalRedisServer;
  before(async () => {
    external = await startLocalRedisServer();
  });
  after(async () => {
    await external.stop();
  });

  it('should use it as is and leave it running on stop()', async () => {
    const handle = await startRedis({ env: { REDIS_URL: external.url } });
    assert.equal(handle.source, 'env');
    assert.equal(handle.url, external.url);
    await handle.stop();
    await pingRedis('127.0.0.1', external.port);
  });

  it('should refuse a REDIS_URL that is not a redis URL, saying how to fix it', async () => {
    await assert.rejects(startRedis({ env: { REDIS_URL: 'localhost:6379' } }), (err: unknown) => {
      assert.ok(err instanceof EnvConfigError);
      assert.match(err.message, /REDIS_URL="localhost:6379" is invalid: use a URL starting with redis:\/\/ or rediss:\/\//);
      return true;
    });
  });
});

describe('when REDIS_URL is not set', () => {
  it('should start a Redis of its own from the source the machine offers, and stop it', async () => {
    // The machine's own hints (DOCKER_HOST, HOME), without a REDIS_URL or a forced source. The
    // probes get a budget a loaded machine can meet: both must see the same engine.
    const env = { ...process.env, REDIS_URL: undefined, COLA_TEST_REDIS: undefined };
    const docker = await isDockerReachable({ env, timeoutMs: 15_000 });
    const handle = await startRedis({ env, dockerProbeTimeoutMs: 15_000 });
    assert.equal(handle.source, docker ? 'testcontainers' : 'redis-server');
    const client = new Redis(handle.url);
    assert.equal(await client.ping(), 'PONG');
    await client.quit();
    await handle.stop();
    const { hostname, port } = new URL(handle.url);
    await assert.rejects(pingRedis(hostname, Number(port), 500));
  });

  it('should start a local redis-server when COLA_TEST_REDIS=redis-server, even with Docker around', async () => {
    const handle = await startRedis({ env: { COLA_TEST_REDIS: 'redis-server' } });
    try {
      assert.equal(handle.source, 'redis-server');
      const { hostname, port } = new URL(handle.url);
      await pingRedis(hostname, Number(port));
    } finally {
      await handle.stop();
    }
  });

  it('should reject an unknown COLA_TEST_REDIS value with the allowed ones', async () => {
    await assert.rejects(
      startRedis({ env: { COLA_TEST_REDIS: 'docker' } }),
      /COLA_TEST_REDIS="docker" is invalid: use one of auto, testcontainers, redis-server/,
    );
  });
});
