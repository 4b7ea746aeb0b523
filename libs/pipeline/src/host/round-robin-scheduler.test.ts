import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RoundRobinScheduler, type Schedulable } from './round-robin-scheduler';

function job(jobId: string, packKey: string, ready = true): Schedulable & { ready: boolean } {
  return { jobId, packKey, ready };
}

describe('when the scheduler picks the jobs of the next host step', () => {
  it('should let every ready job lead in turn, whatever the order of readiness', () => {
    const s = new RoundRobinScheduler(1);
    const jobs = ['a', 'b', 'c'].map((id) => job(id, `k-${id}`));
    jobs.forEach((j) => s.add(j));
    const leaders = Array.from({ length: 9 }, () => s.pick()[0]!.jobId);
    assert.deepEqual(leaders, ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
    const counts = new Map<string, number>();
    for (const l of leaders) counts.set(l, (counts.get(l) ?? 0) + 1);
    assert.deepEqual([...counts.values()], [3, 3, 3]);
  });

  it('should skip jobs that are not ready without losing their turn', () => {
    const s = new RoundRobinScheduler(1);
    const [a, b, c] = ['a', 'b', 'c'].map((id) => job(id, id));
    [a, b, c].forEach((j) => s.add(j!));
    b!.ready = false;
    assert.equal(s.pick()[0]!.jobId, 'a');
    assert.equal(s.pick()[0]!.jobId, 'c');
    b!.ready = true;
    assert.equal(s.pick()[0]!.jobId, 'a');
    assert.equal(s.pick()[0]!.jobId, 'b');
    a!.ready = b!.ready = c!.ready = false;
    assert.deepEqual(s.pick(), []);
  });

  it('should pack ready jobs with the same pack key behind the leader, up to maxTenants', () => {
    const s = new RoundRobinScheduler(3);
    const jobs = [job('a', 'cls'), job('b', 'lm'), job('c', 'cls'), job('d', 'cls'), job('e', 'cls')];
    jobs.forEach((j) => s.add(j));
    assert.deepEqual(
      s.pick().map((j) => j.jobId),
      ['a', 'c', 'd'],
    );
    assert.deepEqual(
      s.pick().map((j) => j.jobId),
      ['b'],
    );
    assert.deepEqual(
      s.pick().map((j) => j.jobId),
      ['c', 'd', 'e'],
    );
    jobs[3]!.ready = false;
    assert.deepEqual(
      s.pick().map((j) => j.jobId),
      ['e', 'a', 'c'],
      'the fourth job is not ready, the scan wraps around',
    );
  });

  it('should keep its place when jobs leave', () => {
    const s = new RoundRobinScheduler(1);
    ['a', 'b', 'c', 'd'].forEach((id) => s.add(job(id, id)));
    assert.equal(s.pick()[0]!.jobId, 'a');
    assert.equal(s.pick()[0]!.jobId, 'b');
    s.remove('a');
    assert.equal(s.pick()[0]!.jobId, 'c');
    s.remove('d');
    assert.equal(s.pick()[0]!.jobId, 'b');
    assert.deepEqual(
      s.jobs.map((j) => j.jobId),
      ['b', 'c'],
    );
    assert.throws(() => s.add(job('b', 'b')), /already scheduled/);
    assert.throws(() => new RoundRobinScheduler(0), /maxTenants must be an integer >= 1/);
  });
});
