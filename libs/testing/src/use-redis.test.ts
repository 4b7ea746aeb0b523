import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { leaseKey, leaseRedisDb, startLocalRedisServer, useRedis, type LocalRedisServer } from './index';

describe('when a test file uses its own Redis', () => {
  const redis = useRedis();

  it('should hand out a started Redis whose keys can be flushed', async () => {
    assert.ok(redis.source === 'redis-server' || redis.source === 'testcontainers' || redis.source === 'env');
    const client = redis.client();
    assert.equal(await client.ping(), 'PONG');
    await client.set('left-over', '1');
    await redis.flush();
    assert.equal(await client.dbsize(), 0);
  });
});

describe('when test files share one REDIS_URL', () => {
  let shared: LocalRedisServer;
  const env: Record<string, string | undefined> = {};
  before(async () => {
    // Three databases: 0 is the URL's own, so exactly two can be leased.
    shared = await startLocalRedisServer({ args: ['--databases', '3'] });
    env.REDIS_URL = shared.url;
  });
  const fixture = useRedis({ env });
  after(async () => {
    await shared.stop();
  });

  it("should give the fixture a leased database other than the URL's own", async () => {
    assert.equal(fixture.source, 'env');
    const db = Number(new URL(fixture.url).pathname.slice(1));
    assert.ok(db === 1 || db === 2, fixture.url);
    const control = new Redis(shared.url);
    assert.ok((await control.get(leaseKey(db))) !== null);
    await control.quit();
  });

  it('should isolate leases from each other, refuse one too many, and wipe a database on release', async () => {
    const fixtureDb = Number(new URL(fixture.url).pathname.slice(1));
    const lease = await leaseRedisDb(shared.url);
    const control = new Redis(shared.url);
    const mine = fixture.client();
    const theirs = new Redis(lease.url);
    try {
      assert.equal(lease.db, fixtureDb === 1 ? 2 : 1);
      await assert.rejects(leaseRedisDb(shared.url), /All 2 spare databases of REDIS_URL are leased/);

      await mine.set('k', 'fixture');
      assert.equal(await theirs.get('k'), null, "a lease must not see another lease's keys");
      await theirs.set('k', 'lease');
      assert.equal(await mine.get('k'), 'fixture');

      await lease.release();
      assert.equal(await control.get(leaseKey(lease.db)), null);
      assert.equal(await theirs.dbsize(), 0);
      assert.equal(await mine.get('k'), 'fixture');
    } finally {
      await lease.release();
      theirs.disconnect();
      control.disconnect();
    }
  });

  it('should flush a database left dirty by a crashed run when leasing it', async () => {
    const fixtureDb = Number(new URL(fixture.url).pathname.slice(1));
    const otherDb = fixtureDb === 1 ? 2 : 1;
    const dirty = new Redis(`${shared.url}/${otherDb}`);
    try {
      await dirty.set('stale', '1');
      const lease = await leaseRedisDb(shared.url);
      assert.equal(lease.db, otherDb);
      assert.equal(await dirty.dbsize(), 0);
      await lease.release();
    } finally {
      dirty.disconnect();
    }
  });
});
