import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LocalStack, RedisUnavailableError } from './local-stack';

describe('when no redis-server is installed and REDIS_URL is unset', () => {
  it('should fail with how to get one, and start no service', async () => {
    const lines: string[] = [];
    const stack = new LocalStack({ env: {}, redisServerBin: '/nonexistent/redis-server', log: (l) => lines.push(l) });
    await assert.rejects(stack.start(), (e: unknown) => {
      assert.ok(e instanceof RedisUnavailableError);
      assert.match(e.message, /redis-server was not found \(tried "\/nonexistent\/redis-server"\)/);
      assert.match(e.message, /apt-get install -y redis-server/);
      assert.match(e.message, /REDIS_URL/);
      return true;
    });
    assert.equal(stack.services.size, 0);
    assert.deepEqual(stack.pids(), []);
  });
});

describe('when the options are wrong', () => {
  it('should say how to fix them before starting anything', () => {
    assert.throws(() => new LocalStack({ env: {}, trainers: 0 }), /trainers must be an integer >= 1/);
    assert.throws(() => new LocalStack({ env: {}, adminKey: 'short' }), /admin key needs 16\+ characters; set GATEWAY_ADMIN_KEY/);
  });

  it('should take the admin key and model dir from the environment, or make a random key', () => {
    const fromEnv = new LocalStack({ env: { GATEWAY_ADMIN_KEY: 'k'.repeat(20), MODEL_DIR: '/m' } });
    assert.deepEqual([fromEnv.adminKey, fromEnv.modelDir], ['k'.repeat(20), '/m']);
    const a = new LocalStack({ env: {} });
    const b = new LocalStack({ env: {} });
    assert.match(a.adminKey, /^admin-[0-9a-f]{32}$/);
    assert.notEqual(a.adminKey, b.adminKey);
    assert.equal(a.modelDir, 'models/cola-tiny');
    const v2 = new LocalStack({ env: { MODEL_DIR: '/m', COLA_BASE_MODEL_DIR: 'models/cola-tiny-v2' } });
    assert.equal(v2.modelDir, 'models/cola-tiny-v2', 'COLA_BASE_MODEL_DIR wins, as in the services');
  });
});
