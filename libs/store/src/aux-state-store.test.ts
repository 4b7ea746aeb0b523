import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { InvalidIdError, keys } from '@cola/config';
import { useRedis } from '@cola/testing';
import { AuxStateMissingError, AuxStateStore, FRAME_HEADER_BYTES, PayloadCorruptError, type CommitResult } from './index';

/** A test state: the list of seqs applied so far, as uint32 little-endian bytes. */
function encodeSeqs(seqs: readonly number[]): Uint8Array {
  return new Uint8Array(Uint32Array.from(seqs).buffer);
}
function decodeSeqs(bytes: Uint8Array): number[] {
  // Copy first: the view from the store starts at an arbitrary byteOffset.
  return Array.from(new Uint32Array(Uint8Array.from(bytes).buffer));
}
function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

describe('when aux state lives in a real Redis', () => {
  const redis = useRedis();
  let raw: Redis;
  let store: AuxStateStore;
  before(() => {
    raw = redis.client();
    store = new AuxStateStore(redis.client());
  });

  describe('when a job is initialised', () => {
    it('should write version 0 once and never overwrite it', async () => {
      const v0 = new Uint8Array(256).map((_, i) => 255 - i);
      assert.equal(await store.head('job-init'), null);
      assert.equal(await store.init('job-init', v0), true);
      assert.equal(await store.init('job-init', bytesOf('other')), false);
      assert.equal(await store.head('job-init'), 0);
      assert.deepEqual(Array.from(await store.load('job-init', 0)), Array.from(v0));
      assert.deepEqual(await store.loadHead('job-init'), { version: 0, bytes: await store.load('job-init', 0) });
    });

    it("should refuse ids that could alias another job's keys", async () => {
      await assert.rejects(store.init('job:1', bytesOf('x')), InvalidIdError);
      await assert.rejects(store.head('job:1'), InvalidIdError);
    });
  });

  describe('when fit tasks commit one after another', () => {
    it('should move the head, record the seq and keep each version loadable', async () => {
      await store.init('job-seq', encodeSeqs([]));
      assert.equal(await store.commit('job-seq', 0, encodeSeqs([10]), { seq: 10 }), 'committed');
      // A Redis restart or failover forgets cached scripts; the store must load them again.
      await raw.script('FLUSH');
      assert.equal(await store.commit('job-seq', 1, encodeSeqs([10, 11]), { seq: 11 }), 'committed');
      assert.equal(await store.head('job-seq'), 2);
      assert.deepEqual(decodeSeqs(await store.load('job-seq', 1)), [10]);
      assert.deepEqual(decodeSeqs(await store.load('job-seq', 2)), [10, 11]);
      assert.equal(await store.appliedVersion('job-seq', 10), 1);
      assert.equal(await store.appliedVersion('job-seq', 11), 2);
      assert.equal(await store.appliedVersion('job-seq', 12), null);
    });

    it('should answer duplicate to a replayed seq, whatever version it expects, and write nothing', async () => {
      await store.init('job-dup', encodeSeqs([]));
      assert.equal(await store.commit('job-dup', 0, encodeSeqs([7]), { seq: 7 }), 'committed');
      // The same task redelivered: with the version it first saw, and computed again on the head.
      assert.equal(await store.commit('job-dup', 0, encodeSeqs([7]), { seq: 7 }), 'duplicate');
      assert.equal(await store.commit('job-dup', 1, encodeSeqs([7, 7]), { seq: 7 }), 'duplicate');
      assert.equal(await store.head('job-dup'), 1);
      assert.equal(await raw.exists(keys.auxVersion('job-dup', 2)), 0);
      assert.deepEqual(decodeSeqs(await store.load('job-dup', 1)), [7]);
    });

    it('should answer conflict to a commit on a stale version and write nothing', async () => {
      await store.init('job-stale', encodeSeqs([]));
      assert.equal(await store.commit('job-stale', 0, encodeSeqs([1]), { seq: 1 }), 'committed');
      assert.equal(await store.commit('job-stale', 0, encodeSeqs([2]), { seq: 2 }), 'conflict');
      assert.equal(await store.commit('job-stale', 5, encodeSeqs([2]), { seq: 2 }), 'conflict');
      assert.equal(await store.head('job-stale'), 1);
      assert.equal(await store.appliedVersion('job-stale', 2), null);
      // The refused seq is not burnt: it commits on the right version.
      assert.equal(await store.commit('job-stale', 1, encodeSeqs([1, 2]), { seq: 2 }), 'committed');
    });

    it('should refuse to commit to a job that was never initialised', async () => {
      await assert.rejects(store.commit('job-nothing', 0, bytesOf('x'), { seq: 0 }), (err: unknown) => {
        assert.ok(err instanceof AuxStateMissingError);
        assert.match(err.message, /job job-nothing has no aux state: call AuxStateStore\.init\(\)/);
        return true;
      });
      assert.equal(await raw.exists(keys.auxVersion('job-nothing', 1)), 0);
    });
  });

  describe('when two trainers commit on the same version at once', () => {
    it('should let exactly one of them win, every time', async () => {
      const a = new AuxStateStore(redis.client());
      const b = new AuxStateStore(redis.client());
      await store.init('job-pair', encodeSeqs([]));
      for (let v = 0; v < 20; v++) {
        const seqA = 2 * v;
        const seqB = 2 * v + 1;
        const results = await Promise.all([
          a.commit('job-pair', v, encodeSeqs([seqA]), { seq: seqA }),
          b.commit('job-pair', v, encodeSeqs([seqB]), { seq: seqB }),
        ]);
        assert.deepEqual([...results].sort(), ['committed', 'conflict'], `round ${v}: ${results.join(', ')}`);
        const winner = results[0] === 'committed' ? seqA : seqB;
        assert.deepEqual(decodeSeqs(await store.load('job-pair', v + 1)), [winner]);
        assert.equal(await store.appliedVersion('job-pair', winner), v + 1);
        assert.equal(await store.appliedVersion('job-pair', winner === seqA ? seqB : seqA), null);
      }
      assert.equal(await store.head('job-pair'), 20);
    });
  });

  describe('when 50 trainers race on one job', () => {
    it('should end with head 50 and exactly one commit per version, each seq applied once', async () => {
      const jobId = 'job-race';
      const racers = 50;
      await store.init(jobId, encodeSeqs([]));
      const outcomes: CommitResult[] = [];
      const race = Array.from({ length: racers }, async (_, seq) => {
        const mine = new AuxStateStore(redis.client());
        for (;;) {
          const head = await mine.loadHead(jobId);
          assert.ok(head);
          const next = encodeSeqs([...decodeSeqs(head.bytes), seq]);
          const result = await mine.commit(jobId, head.version, next, { seq });
          outcomes.push(result);
          if (result === 'committed') {
            // The broker redelivers the same task: it must not be applied again.
            const again = await mine.commit(jobId, (await mine.head(jobId)) ?? -1, next, { seq });
            assert.equal(again, 'duplicate');
            return;
          }
          assert.equal(result, 'conflict');
        }
      });
      await Promise.all(race);

      const committed = outcomes.filter((o) => o === 'committed').length;
      const conflicts = outcomes.filter((o) => o === 'conflict').length;
      assert.equal(committed, racers);
      assert.ok(conflicts > 0, 'the racers never actually raced');
      assert.equal(await store.head(jobId), racers);

      // Version v is version v-1 plus exactly one seq: one commit per version, nothing lost.
      let previous: number[] = [];
      for (let v = 1; v <= racers; v++) {
        const seqs = decodeSeqs(await store.load(jobId, v));
        assert.deepEqual(seqs.slice(0, -1), previous, `version ${v} does not extend version ${v - 1}`);
        assert.equal(await store.appliedVersion(jobId, seqs[seqs.length - 1]!), v);
        previous = seqs;
      }
      assert.deepEqual(
        [...previous].sort((x, y) => x - y),
        Array.from({ length: racers }, (_, i) => i),
      );
      assert.equal(await raw.hlen(keys.auxApplied(jobId)), racers);
      console.log(`# 50 racers: ${committed} commits, ${conflicts} conflicts retried`);
    });
  });

  describe('when versions are superseded', () => {
    it('should keep the newest ones and put a TTL on the older ones', async () => {
      const small = new AuxStateStore(redis.client(), { keepVersions: 2, supersededTtlSeconds: 77 });
      await small.init('job-ttl', bytesOf('v0'));
      for (let v = 0; v < 4; v++) assert.equal(await small.commit('job-ttl', v, bytesOf(`v${v + 1}`), { seq: v }), 'committed');
      for (const v of [0, 1, 2]) {
        const ttl = await raw.ttl(keys.auxVersion('job-ttl', v));
        assert.ok(ttl > 0 && ttl <= 77, `version ${v} ttl ${ttl}`);
      }
      for (const v of [3, 4]) assert.equal(await raw.ttl(keys.auxVersion('job-ttl', v)), -1, `version ${v} must not expire`);
      assert.equal(await raw.ttl(keys.auxHead('job-ttl')), -1);
    });

    it('should say the version is gone and name the head when an expired one is loaded', async () => {
      await store.init('job-gone', bytesOf('v0'));
      await store.commit('job-gone', 0, bytesOf('v1'), { seq: 0 });
      await raw.del(keys.auxVersion('job-gone', 0)); // what its TTL will do
      await assert.rejects(store.load('job-gone', 0), (err: unknown) => {
        assert.ok(err instanceof AuxStateMissingError);
        assert.equal(err.head, 1);
        assert.match(err.message, /aux state version 0 of job job-gone is gone \(head is 1\)/);
        return true;
      });
    });

    it('should reject retention options that would drop the head', () => {
      assert.throws(() => new AuxStateStore(raw, { keepVersions: 0 }), /keepVersions must be an integer >= 1/);
      assert.throws(() => new AuxStateStore(raw, { supersededTtlSeconds: 0 }), /supersededTtlSeconds must be a positive/);
    });
  });

  describe('when a stored version is damaged or the job is deleted', () => {
    it('should detect a corrupted version', async () => {
      await store.init('job-rot', new Uint8Array(1000).fill(3));
      await raw.setrange(keys.auxVersion('job-rot', 0), FRAME_HEADER_BYTES + 500, Buffer.from([4]));
      await assert.rejects(store.load('job-rot', 0), PayloadCorruptError);
    });

    it('should delete every aux key of the job and nothing else', async () => {
      await store.init('job-del', bytesOf('v0'));
      await store.init('job-keep', bytesOf('v0'));
      for (let v = 0; v < 3; v++) await store.commit('job-del', v, bytesOf(`v${v + 1}`), { seq: v });
      assert.equal(await store.delete('job-del'), 6); // head, applied, versions 0..3
      assert.equal(await store.head('job-del'), null);
      assert.deepEqual(await raw.keys('cola:aux:{job-del}*'), []);
      assert.equal(await store.head('job-keep'), 0);
    });
  });
});
