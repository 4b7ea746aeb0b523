import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useRedis } from '@cola/testing';
import { Task, type JobSpec } from '@cola/proto';
import { JobStore } from './job-store';
import { putUpload, readUpload, UploadStore } from './uploads';

const redis = useRedis();
let store: JobStore;

const spec: JobSpec = {
  jobId: 'job-1',
  tenantId: 't',
  baseModel: 'cola-tiny',
  task: Task.TASK_CLASSIFICATION,
  trainingFileId: 'f',
  validationFileId: '',
  labels: ['a', 'b'],
  method: undefined,
  hyperparameters: undefined,
  seed: 0,
};

describe('when jobs are recorded in Redis', () => {
  before(() => {
    store = new JobStore(redis.client());
  });

  it('should store the spec, refuse a duplicate and never leave a final status', async () => {
    await store.create(spec);
    await assert.rejects(store.create(spec), /already exists/);
    const rec = await store.get('job-1');
    assert.deepEqual(rec?.spec, spec);
    assert.equal(rec?.status, 'queued');
    assert.equal((await store.transition('job-1', 'running', 'gpu-host')).changed, true);
    assert.equal(
      (await store.transition('job-1', 'failed', 'aux-trainer', { code: 'invalid_payload', message: 'truncated', param: null })).changed,
      true,
    );
    assert.deepEqual(await store.transition('job-1', 'running', 'gpu-host'), { changed: false, from: 'failed' }, 'a final status is final');
    const after = await store.get('job-1');
    assert.equal(after?.status, 'failed');
    assert.deepEqual(after?.error, { code: 'invalid_payload', message: 'truncated', param: null });
    assert.ok(after?.finishedAt);
    assert.equal(await store.get('missing'), null);
  });

  it('should fail a job with its error and one error event, unless it already ended or a cancel was asked for', async () => {
    const error = { code: 'fit_task_timeout' as const, message: 'fit task 3 waited 600 s', param: null };
    for (const [jobId, from] of [
      ['job-fail-running', 'running'],
      ['job-fail-cancelling', 'cancelling'],
    ] as const) {
      await store.create({ ...spec, jobId });
      await store.transition(jobId, 'running', 'gpu-host');
      if (from === 'cancelling') await store.transition(jobId, 'cancelling', 'gateway');
    }
    assert.equal(await store.fail('job-fail-running', 'aux-trainer', error, 'Fit task timed out'), 'failed');
    assert.deepEqual((await store.get('job-fail-running'))?.error, error);
    assert.equal(await store.fail('job-fail-running', 'gpu-host', error), null, 'a final job stays as it ended');
    assert.deepEqual(
      (await store.events('job-fail-running')).map((e) => [e.level, e.message]),
      [['error', 'Fit task timed out']],
    );
    assert.equal(await store.fail('job-fail-cancelling', 'gpu-host', error), 'cancelled', "the tenant's cancel wins");
    assert.deepEqual(await store.events('job-fail-cancelling'), [], 'no failure event for a cancelled job');
  });

  it('should page events by cursor and keep progress and results', async () => {
    await store.create({ ...spec, jobId: 'job-2' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(await store.appendEvent('job-2', { level: 'info', message: `step ${i}`, metrics: { step: i, loss: 1 / (i + 1) } }));
    const first = await store.events('job-2', { limit: 2 });
    assert.deepEqual(
      first.map((e) => e.message),
      ['step 0', 'step 1'],
    );
    const rest = await store.events('job-2', { after: first[1]!.id });
    assert.deepEqual(
      rest.map((e) => e.metrics?.step),
      [2, 3, 4],
    );
    await store.setProgress('job-2', { step: 3, totalSteps: 10, loss: 0.5 });
    assert.equal((await store.progress('job-2'))?.totalSteps, 10);
    await store.setEval('job-2', { metric: 'accuracy', value: 0.9, count: 100 });
    assert.deepEqual(await store.eval('job-2'), { metric: 'accuracy', value: 0.9, count: 100, before: null });
  });

  it('should keep the starting score next to the final one, with value null until the job ends', async () => {
    // Events are written only for jobs that exist.
    await store.create({ ...spec, jobId: 'job-3' });
    await store.setEvalBefore('job-3', { metric: 'accuracy', value: 0.5, count: 40 });
    assert.deepEqual(await store.eval('job-3'), { metric: 'accuracy', value: null, count: 40, before: 0.5 });
    await store.setEval('job-3', { metric: 'accuracy', value: 0.75, count: 40 });
    assert.deepEqual(await store.eval('job-3'), { metric: 'accuracy', value: 0.75, count: 40, before: 0.5 });
    await store.appendEvent('job-3', { level: 'info', message: 'Validation at step 0', metrics: { step: 0, validation: 0.5 } });
    const [event] = await store.events('job-3');
    assert.deepEqual(event?.metrics, { step: 0, validation: 0.5 });
  });

  it('should store only uploads that parse, and read them back', async () => {
    const body = new TextEncoder().encode('{"text":"hi","label":"a"}\n{"text":"yo","label":"b"}\n');
    await putUpload(redis.client(), 'file-1', body);
    const ds = await readUpload(redis.client(), 'file-1');
    assert.equal(ds.kind, 'classification');
    assert.equal(ds.rows.length, 2);
    await assert.rejects(putUpload(redis.client(), 'file-2', new TextEncoder().encode('{"text":1}\n')), /line 1/);
    await assert.rejects(readUpload(redis.client(), 'file-2'), /does not exist/);
  });

  it("should keep each tenant's uploads with their record, list them newest first, and delete them", async () => {
    const uploads = new UploadStore(redis.client());
    const owner = { tenantId: 'acme', filename: 'a.jsonl', purpose: 'fine-tune', sha256: 'ab' };
    const classification = new TextEncoder().encode('{"text":"hi","label":"b"}\n{"text":"yo","label":"a"}\n');
    const completion = new TextEncoder().encode('{"prompt":"p","completion":"c"}\n');
    await uploads.put('file-u1', classification, { ...owner, createdAt: 1000 });
    await uploads.put('file-u2', completion, { ...owner, createdAt: 2000 });
    await uploads.put('file-u3', completion, { ...owner, tenantId: 'other', createdAt: 3000 });
    await assert.rejects(uploads.put('file-u4', new TextEncoder().encode('nope\n'), { ...owner, createdAt: 4000 }), /line 1/);
    assert.deepEqual(await uploads.record('file-u1'), {
      ...owner,
      createdAt: 1000,
      bytes: classification.byteLength,
      rows: 2,
      kind: 'classification',
      labels: ['a', 'b'],
    });
    assert.deepEqual((await uploads.record('file-u2'))?.labels, []);
    assert.equal(await uploads.record('file-u4'), null, 'a file that does not parse is not stored');
    assert.deepEqual(await uploads.byTenant.page('acme', undefined, 1), { ids: ['file-u2'], hasMore: true });
    assert.deepEqual(await uploads.byTenant.page('acme', 'file-u2', 1), { ids: ['file-u1'], hasMore: false });
    assert.equal(await uploads.byTenant.page('acme', 'file-u3', 1), null, "another tenant's id is no cursor");
    assert.deepEqual(Buffer.from((await uploads.bytes('file-u1'))!), Buffer.from(classification));
    await uploads.delete('acme', 'file-u1');
    assert.equal(await uploads.record('file-u1'), null);
    assert.equal(await uploads.bytes('file-u1'), null);
    assert.deepEqual(await uploads.byTenant.newest('acme', 10), ['file-u2']);
  });
});
