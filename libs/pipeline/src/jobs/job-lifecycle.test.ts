import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useRedis } from '@cola/testing';
import { Task, type JobSpec } from '@cola/proto';
import { JobStore } from './job-store';
import { canTransition, JOB_ACTORS, JOB_TRANSITIONS, allowedFrom } from './job-lifecycle';
import { driveJobTo, transitionPath } from './drive-job';
import { FINAL_STATUSES, JOB_STATUSES, type JobStatus } from './job-status';

const redis = useRedis();
let store: JobStore;
let n = 0;

function spec(jobId: string): JobSpec {
  return {
    jobId,
    tenantId: 't',
    baseModel: 'cola-tiny',
    task: Task.TASK_CLASSIFICATION,
    trainingFileId: 'f',
    validationFileId: '',
    labels: ['a', 'b'],
    method: undefined,
    hyperparameters: undefined,
    seed: 1,
  };
}

/** A fresh job already in `status`, reached through allowed moves. */
async function jobIn(status: JobStatus): Promise<string> {
  const id = `job-${++n}`;
  await store.create(spec(id));
  await driveJobTo(store, id, status, { code: 'internal_error', message: 'set up', param: null });
  assert.equal(await store.status(id), status);
  return id;
}

describe('when a job changes status', () => {
  before(() => {
    store = new JobStore(redis.client());
  });

  it('should reach every status from queued through allowed moves', () => {
    for (const s of JOB_STATUSES) assert.ok(transitionPath('queued', s), `${s} is reachable`);
  });

  it('should never list a move out of a final status', () => {
    for (const t of JOB_TRANSITIONS) assert.ok(!FINAL_STATUSES.has(t.from), `${t.from} -> ${t.to}`);
  });

  for (const from of JOB_STATUSES)
    for (const to of JOB_STATUSES)
      for (const by of JOB_ACTORS) {
        const allowed = canTransition(from, to, by);
        it(`should ${allowed ? 'allow' : 'refuse'} ${by} moving a job from ${from} to ${to}`, async () => {
          const id = await jobIn(from);
          const error = { code: 'internal_error', message: 'test', param: null } as const;
          if (allowedFrom(to, by).length === 0) {
            await assert.rejects(store.transition(id, to, by, error), new RegExp(`${by} may never move a job to ${to}`));
            assert.equal(await store.status(id), from);
            return;
          }
          const r = await store.transition(id, to, by, error);
          assert.deepEqual(r, { changed: allowed, from });
          const rec = await store.get(id);
          assert.equal(rec?.status, allowed ? to : from);
          if (allowed && FINAL_STATUSES.has(to) && from !== to) assert.ok(rec?.finishedAt, 'finished_at is set');
        });
      }

  it('should refuse every move of a job that does not exist', async () => {
    assert.deepEqual(await store.transition('job-missing', 'running', 'gpu-host'), { changed: false, from: null });
    assert.equal(await store.finish('job-missing', 'succeeded', 'gpu-host'), null);
  });

  it('should end a job that answered cancelling as cancelled when its host reports success or failure', async () => {
    for (const outcome of ['succeeded', 'failed'] as const) {
      const id = await jobIn('running');
      assert.equal((await store.transition(id, 'cancelling', 'gateway')).changed, true);
      assert.equal(await store.finish(id, outcome, 'gpu-host'), 'cancelled');
      assert.equal(await store.status(id), 'cancelled');
    }
  });

  it('should end every one of 200 racing cancels that answered cancelling as cancelled, never succeeded', async () => {
    const ids = await Promise.all(Array.from({ length: 200 }, () => jobIn('running')));
    // Each job's host finishes it while its tenant cancels: both race on the same record.
    const results = await Promise.all(
      ids.map(async (id, i) => {
        const cancel = store.transition(id, 'cancelling', 'gateway');
        const finish = i % 2 ? store.finish(id, 'succeeded', 'gpu-host') : Promise.resolve(null);
        const [c] = await Promise.all([cancel, finish]);
        if (i % 2 === 0) await store.finish(id, 'succeeded', 'gpu-host');
        return { id, answeredCancelling: c.changed };
      }),
    );
    let cancelling = 0;
    for (const r of results) {
      const final = await store.status(r.id);
      if (r.answeredCancelling) {
        cancelling++;
        assert.equal(final, 'cancelled', `${r.id} answered cancelling`);
      } else assert.equal(final, 'succeeded');
    }
    assert.ok(cancelling >= 100, `${cancelling} of 200 answered cancelling`);
  });

  it('should not create an event stream for a job that does not exist', async () => {
    assert.equal(await store.appendEvent('job-ghost', { level: 'info', message: 'late' }), '');
    assert.equal(await redis.client().exists('cola:job:job-ghost:events'), 0);
  });
});
