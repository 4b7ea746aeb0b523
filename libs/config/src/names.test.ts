import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AUX_PUBLISHED_QUEUES, BULLMQ_PREFIX, InvalidIdError, KEY_PREFIX, QUEUES, jobIds, keys, queueDepthKeys } from './index';

/** Every builder that takes one id, applied to `id` (and small numbers where needed). */
function allKeysFor(id: string): string[] {
  return [
    keys.payload(id, 0),
    keys.payload(id, 1),
    keys.payload(id, 12),
    keys.republishedPayload(id, 0, 1),
    keys.republishedPayload(id, 12, 2),
    keys.payloadRepublish(id),
    keys.auxVersion(id, 0),
    keys.auxVersion(id, 1),
    keys.auxVersion(id, 12),
    keys.auxHead(id),
    keys.auxApplied(id),
    keys.served(id),
    keys.mergeGroup(id, id),
    keys.mergeGroup('t', id),
    keys.job(id),
    keys.jobProgress(id),
    keys.jobEvents(id),
    keys.jobCheckpoints(id),
    keys.jobCheckpoint(id, 0),
    keys.jobCheckpoint(id, 12),
    keys.jobEval(id),
    keys.tenant(id),
    keys.tenantJobs(id),
    keys.tenantUploads(id),
    keys.tenantRateLimit(id),
    keys.upload(id),
    keys.uploadMeta(id),
  ];
}

const BUILDERS_WITH_ID: ReadonlyArray<[string, (id: string) => string]> = [
  ['payload', (id) => keys.payload(id, 1)],
  ['republishedPayload', (id) => keys.republishedPayload(id, 1, 1)],
  ['payloadRepublish', keys.payloadRepublish],
  ['auxVersion', (id) => keys.auxVersion(id, 1)],
  ['auxHead', keys.auxHead],
  ['auxApplied', keys.auxApplied],
  ['served', keys.served],
  ['mergeGroup', (id) => keys.mergeGroup('tenant-a', id)],
  ['mergeGroup (tenant)', (id) => keys.mergeGroup(id, 'group')],
  ['job', keys.job],
  ['jobProgress', keys.jobProgress],
  ['jobEvents', keys.jobEvents],
  ['tenant', keys.tenant],
  ['upload', keys.upload],
  ['uploadMeta', keys.uploadMeta],
  ['jobIds.adapt', (id) => jobIds.adapt(id, 1)],
  ['jobIds.auxPublished', (id) => jobIds.auxPublished(id, 1)],
];

describe('when building Redis keys', () => {
  it('should follow the documented layout under the cola: prefix', () => {
    assert.equal(keys.payload('job-1', 3), `${KEY_PREFIX}payload:job-1:3`);
    assert.equal(keys.auxVersion('job-1', 7), `${KEY_PREFIX}aux:{job-1}:v7`);
    assert.equal(keys.auxHead('job-1'), `${KEY_PREFIX}aux:{job-1}:head`);
    assert.equal(keys.served('job-1'), `${KEY_PREFIX}served:job-1`);
  });

  it('should build distinct keys for distinct arguments, even for look-alike ids', () => {
    // Ids chosen to collide under naive concatenation: prefixes of each other, and names equal
    // to the suffixes the builders append.
    const ids = ['a', 'a-b', 'a_b', 'ab', 'A', '1', 'progress', 'head', 'v1', 'events', 'jobs', 'meta', 'job-1', 'job-12'];
    const all = ids.flatMap(allKeysFor);
    assert.equal(new Set(all).size, all.length);
    for (const k of all) assert.ok(k.startsWith(KEY_PREFIX), k);
  });

  it('should never build a key inside the BullMQ namespace', () => {
    for (const k of allKeysFor('q')) assert.ok(!k.startsWith(`${BULLMQ_PREFIX}:`), k);
  });

  it('should put all aux keys of one job in the same Redis Cluster hash tag', () => {
    const tag = (k: string): string | undefined => /\{([^}]*)\}/.exec(k)?.[1];
    const auxKeys = [keys.auxHead('job-9'), keys.auxApplied('job-9'), keys.auxVersion('job-9', 0), keys.auxVersion('job-9', 41)];
    assert.deepEqual(new Set(auxKeys.map(tag)), new Set(['job-9']));
  });
});

describe('when an id could alias another key', () => {
  const bad = ['a:b', 'a:progress', 'job.1', '{job}', 'a b', '', '-lead', 'é', 'a\nb', 'x'.repeat(129)];

  for (const [name, build] of BUILDERS_WITH_ID) {
    it(`should reject unsafe ids in ${name} with a message that names the allowed alphabet`, () => {
      for (const id of bad) {
        assert.throws(
          () => build(id),
          (err: unknown) => {
            assert.ok(err instanceof InvalidIdError, `${name}(${JSON.stringify(id)}) threw ${String(err)}`);
            assert.match(err.message, /\[A-Za-z0-9_-\]/);
            assert.match(err.message, /no ':'/);
            return true;
          },
        );
      }
    });
  }

  it('should accept the longest allowed id', () => {
    assert.ok(keys.job('x'.repeat(128)).endsWith('x'.repeat(128)));
  });

  it('should reject negative, fractional and non-numeric sequence numbers and versions', () => {
    for (const n of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) {
      assert.throws(() => keys.payload('job-1', n), InvalidIdError);
      assert.throws(() => keys.auxVersion('job-1', n), InvalidIdError);
    }
  });

  it('should refuse an API key that is not a SHA-256 hex digest', () => {
    assert.throws(() => keys.apiKey('sk-live-secret'), /SHA-256/);
    assert.equal(keys.apiKey('a'.repeat(64)), `${KEY_PREFIX}apikey:${'a'.repeat(64)}`);
  });
});

describe('when naming BullMQ queues and job ids', () => {
  it('should use names BullMQ accepts (no colon) and unique ones', () => {
    const names = Object.values(QUEUES);
    assert.equal(new Set(names).size, names.length);
    for (const n of names) assert.doesNotMatch(n, /:/);
  });

  it('should fan "aux published" out to every consumer queue exactly once', () => {
    assert.deepEqual([...AUX_PUBLISHED_QUEUES].sort(), [QUEUES.auxPublishedHost, QUEUES.auxPublishedMerger].sort());
  });

  it('should build custom job ids that BullMQ accepts and that never collide', () => {
    const ids = ['1', '12', 'a', 'a-1'].flatMap((j) => [0, 1, 2, 11].map((s) => jobIds.adapt(j, s)));
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) {
      assert.doesNotMatch(id, /:/);
      // BullMQ refuses custom ids that parse back to the same integer.
      assert.notEqual(String(Number.parseInt(id, 10)), id);
    }
  });

  it('should give the wait and prioritized list keys under the BullMQ prefix for autoscaling', () => {
    const depth = queueDepthKeys(QUEUES.adapt);
    assert.equal(depth.wait, `${BULLMQ_PREFIX}:${QUEUES.adapt}:wait`);
    assert.equal(depth.prioritized, `${BULLMQ_PREFIX}:${QUEUES.adapt}:prioritized`);
  });
});
