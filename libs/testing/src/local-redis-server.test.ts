import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RedisServerNotFoundError, freePort, pingRedis, startLocalRedisServer } from './index';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

describe('when a local redis-server is started', () => {
  it('should answer PING and store values, then leave no process and no temp dir after stop()', async () => {
    const server = await startLocalRedisServer();
    assert.match(server.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.url, `redis://127.0.0.1:${server.port}`);
    assert.ok(isAlive(server.pid));
    assert.ok(existsSync(server.dir));

    const client = new Redis(server.url);
    assert.equal(await client.ping(), 'PONG');
    await client.set('k', 'v');
    assert.equal(await client.get('k'), 'v');
    // Tests must not write snapshots or an AOF.
    assert.deepEqual(await client.config('GET', 'save'), ['save', '']);
    assert.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'no']);
    assert.deepEqual(await client.config('GET', 'bind'), ['bind', '127.0.0.1']);
    await client.quit();

    await server.stop();
    assert.equal(isAlive(server.pid), false, `redis-server ${server.pid} still runs`);
    assert.equal(existsSync(server.dir), false, `${server.dir} was not removed`);
    await assert.rejects(pingRedis('127.0.0.1', server.port, 500));
    await server.stop(); // idempotent
  });

  it('should give two servers two different ports', async () => {
    const [a, b] = await Promise.all([startLocalRedisServer(), startLocalRedisServer()]);
    try {
      assert.notEqual(a.port, b.port);
      await Promise.all([pingRedis('127.0.0.1', a.port), pingRedis('127.0.0.1', b.port)]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('should keep a data directory it was given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cola-kept-'));
    try {
      const server = await startLocalRedisServer({ dir });
      await server.stop();
      assert.ok(existsSync(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('when redis-server cannot start', () => {
  it('should say how to install it when the executable is missing', async () => {
    await assert.rejects(startLocalRedisServer({ bin: 'redis-server-that-does-not-exist' }), (err: unknown) => {
      assert.ok(err instanceof RedisServerNotFoundError);
      assert.match(err.message, /install it with `apt-get install -y redis-server` \(Debian\) or set REDIS_URL/);
      return true;
    });
  });

  it("should report redis-server's own output when the requested port is taken", async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      await assert.rejects(startLocalRedisServer({ port }), /exited early[\s\S]*Address already in use/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
