import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keys } from '@cola/config';
import { JobStore, driveJobTo } from '@cola/pipeline';
import { useRedis } from '@cola/testing';
import type { ApiResponse, ErrorShape } from './support/gateway-client';
import { writeTestAuxState } from './support/aux-state';
import { SMALL_TRAIN, startTestGateway, type TestGateway } from './support/gateway-fixture';

/** One route that takes an id: how to call it for an id with a key. */
interface IdRoute {
  /** The OpenAPI path it covers. */
  path: string;
  method: string;
  call: (id: string, key: string) => Promise<ApiResponse<ErrorShape>>;
  /** Which of the owner's ids it takes. */
  kind: 'file' | 'job' | 'model';
  /** Status the owner gets (the resource exists). */
  ownerStatus: number;
}

describe("when a tenant asks for another tenant's resources", () => {
  const redis = useRedis();
  let gw: TestGateway;
  let ownerKey: string;
  let strangerKey: string;
  const ids = { file: '', job: '', model: '' };
  const missing = {
    file: 'file-AAAAAAAAAAAAAAAAAAAAAAAA',
    job: 'ftjob-AAAAAAAAAAAAAAAAAAAAAAAA',
    model: 'ft:cola-tiny:stranger:ftjob-AAAAAAAAAAAAAAAAAAAAAAAA',
  };

  before(async () => {
    gw = await startTestGateway(redis);
    ownerKey = await gw.tenant('owner');
    strangerKey = await gw.tenant('stranger');
    // The stranger has resources too: the answers must not depend on having none.
    await gw.api.upload(SMALL_TRAIN, strangerKey);
    ids.file = (await gw.api.upload<{ id: string }>(SMALL_TRAIN, ownerKey)).body.id;
    ids.job = (
      await gw.api.post<{ id: string }>('/v1/fine_tuning/jobs', { model: 'cola-tiny', training_file: ids.file }, ownerKey)
    ).body.id;
    await writeTestAuxState(redis.client(), ids.job);
    const store = new JobStore(redis.client());
    await store.appendEvent(ids.job, { level: 'info', message: 'step 1', metrics: { step: 1, loss: 0.7 } });
    await driveJobTo(store, ids.job, 'succeeded');
    ids.model = `ft:cola-tiny:owner:${ids.job}`;
  });
  after(() => gw.close());

  const enc = encodeURIComponent;
  const routes: IdRoute[] = [
    { path: '/v1/files/{file_id}', method: 'get', kind: 'file', ownerStatus: 200, call: (id, k) => gw.api.get(`/v1/files/${id}`, k) },
    {
      path: '/v1/files/{file_id}/content',
      method: 'get',
      kind: 'file',
      ownerStatus: 200,
      call: (id, k) => gw.api.get(`/v1/files/${id}/content`, k),
    },
    {
      path: '/v1/fine_tuning/jobs/{job_id}',
      method: 'get',
      kind: 'job',
      ownerStatus: 200,
      call: (id, k) => gw.api.get(`/v1/fine_tuning/jobs/${id}`, k),
    },
    {
      path: '/v1/fine_tuning/jobs/{job_id}/cancel',
      method: 'post',
      kind: 'job',
      ownerStatus: 409,
      call: (id, k) => gw.api.post(`/v1/fine_tuning/jobs/${id}/cancel`, {}, k),
    },
    {
      path: '/v1/fine_tuning/jobs/{job_id}/events',
      method: 'get',
      kind: 'job',
      ownerStatus: 200,
      call: (id, k) => gw.api.get(`/v1/fine_tuning/jobs/${id}/events`, k),
    },
    {
      path: '/v1/fine_tuning/jobs/{job_id}/events',
      method: 'get',
      kind: 'job',
      ownerStatus: 200,
      call: (id, k) => gw.api.get(`/v1/fine_tuning/jobs/${id}/events?stream=true`, k),
    },
    {
      path: '/v1/fine_tuning/jobs/{job_id}/checkpoints',
      method: 'get',
      kind: 'job',
      ownerStatus: 200,
      call: (id, k) => gw.api.get(`/v1/fine_tuning/jobs/${id}/checkpoints`, k),
    },
    {
      path: '/v1/fine_tuning/jobs/{job_id}/adapter',
      method: 'get',
      kind: 'job',
      ownerStatus: 200,
      call: (id, k) => gw.api.get(`/v1/fine_tuning/jobs/${id}/adapter`, k),
    },
    {
      path: '/v1/fine_tuning/jobs/{job_id}/adapter/config',
      method: 'get',
      kind: 'job',
      ownerStatus: 200,
      call: (id, k) => gw.api.get(`/v1/fine_tuning/jobs/${id}/adapter/config`, k),
    },
    { path: '/v1/models/{model}', method: 'get', kind: 'model', ownerStatus: 200, call: (id, k) => gw.api.get(`/v1/models/${enc(id)}`, k) },
    // Deleting last: the owner's check would remove the file.
    {
      path: '/v1/files/{file_id}',
      method: 'delete',
      kind: 'file',
      ownerStatus: 200,
      call: (id, k) => gw.api.request('DELETE', `/v1/files/${id}`, { key: k }),
    },
  ];

  it('should cover every tenant route of the OpenAPI document that takes an id', async () => {
    const doc = (await gw.api.get<{ paths: Record<string, Record<string, unknown>> }>('/docs-json')).body;
    const withIds = Object.entries(doc.paths)
      .filter(([p]) => p.includes('{') && !p.startsWith('/v1/admin/'))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    const covered = new Set(routes.map((r) => `${r.method} ${r.path}`));
    assert.deepEqual(
      withIds.filter((r) => !covered.has(r)),
      [],
      'routes without an isolation case',
    );
  });

  it("should answer 404 for every id route with another tenant's key, exactly as for an id that does not exist", async () => {
    for (const r of routes) {
      const foreign = await r.call(ids[r.kind], strangerKey);
      const absent = await r.call(missing[r.kind], strangerKey);
      const label = `${r.method.toUpperCase()} ${r.path}`;
      assert.equal(foreign.status, 404, `${label}: ${foreign.text}`);
      assert.equal(foreign.body.error.code, absent.body.error.code, label);
      assert.equal(absent.status, 404, label);
      // Same message once the id itself is taken out: nothing tells "exists elsewhere" apart.
      assert.equal(
        foreign.body.error.message.replace(ids[r.kind], '<id>'),
        absent.body.error.message.replace(missing[r.kind], '<id>'),
        label,
      );
      const own = await r.call(ids[r.kind], ownerKey);
      assert.equal(own.status, r.ownerStatus, `${label} for the owner: ${own.text.slice(0, 200)}`);
    }
  });

  it("should refuse another tenant's file as training data and its model for inference", async () => {
    const strangerFile = await gw.api.upload<{ id: string }>(SMALL_TRAIN, strangerKey);
    const train = await gw.api.post<ErrorShape>(
      '/v1/fine_tuning/jobs',
      { model: 'cola-tiny', training_file: strangerFile.body.id },
      ownerKey,
    );
    assert.deepEqual([train.status, train.body.error.code], [400, 'file_not_found']);
    const classify = await gw.api.post<ErrorShape>('/v1/classifications', { model: ids.model, input: 'x' }, strangerKey);
    assert.deepEqual([classify.status, classify.body.error.code], [404, 'model_not_found']);
    const models = await gw.api.get<{ data: { id: string }[] }>('/v1/models', strangerKey);
    assert.deepEqual(
      models.body.data.map((m) => m.id),
      ['cola-tiny'],
    );
    const listed = await gw.api.get<{ data: { id: string }[] }>('/v1/fine_tuning/jobs', strangerKey);
    assert.deepEqual(listed.body.data, []);
    const cursor = await gw.api.get<ErrorShape>(`/v1/fine_tuning/jobs?after=${ids.job}`, strangerKey);
    assert.deepEqual([cursor.status, cursor.body.error.code], [400, 'invalid_cursor'], "another tenant's id is no cursor");
  });

  it("should answer inference on another tenant's model exactly as on a missing one, on every inference route", async () => {
    const routes: [string, (model: string) => object][] = [
      ['/v1/classifications', (model) => ({ model, input: 'x' })],
      ['/v1/completions', (model) => ({ model, prompt: 'x' })],
      ['/v1/completions', (model) => ({ model, prompt: 'x', stream: true })],
      ['/v1/chat/completions', (model) => ({ model, messages: [{ role: 'user', content: 'x' }] })],
      ['/v1/chat/completions', (model) => ({ model, messages: [{ role: 'user', content: 'x' }], stream: true })],
    ];
    for (const [path, body] of routes) {
      const foreign = await gw.api.post<ErrorShape>(path, body(ids.model), strangerKey);
      const absent = await gw.api.post<ErrorShape>(path, body(missing.model), strangerKey);
      assert.deepEqual([foreign.status, foreign.body.error.code], [404, 'model_not_found'], `${path}: ${foreign.text}`);
      assert.equal(foreign.body.error.message.replace(ids.model, '<m>'), absent.body.error.message.replace(missing.model, '<m>'), path);
      // The owner gets past the model check: only the (absent) merger stops it.
      const own = await gw.api.post<ErrorShape>(path, body(ids.model), ownerKey);
      assert.equal(own.status, 503, `${path} for the owner: ${own.text}`);
    }
  });

  it("should refuse another tenant's ids as cursors and as a validation file, on every list that pages", async () => {
    const lists = ['/v1/files', '/v1/fine_tuning/jobs'];
    for (const l of lists) {
      for (const id of [ids.file, ids.job]) {
        const r = await gw.api.get<ErrorShape>(`${l}?after=${id}`, strangerKey);
        assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_cursor'], `${l}?after=${id}: ${r.text}`);
      }
    }
    const strangerFile = (await gw.api.upload<{ id: string }>(SMALL_TRAIN, strangerKey)).body.id;
    const withOwnersValidation = await gw.api.post<ErrorShape>(
      '/v1/fine_tuning/jobs',
      { model: 'cola-tiny', training_file: strangerFile, validation_file: ids.file },
      strangerKey,
    );
    assert.deepEqual([withOwnersValidation.status, withOwnersValidation.body.error.code], [400, 'file_not_found']);
    const foreignCheckpoint = await gw.api.get<ErrorShape>(`/v1/fine_tuning/jobs/${ids.job}/adapter?checkpoint=ftckpt-1`, strangerKey);
    assert.equal(foreignCheckpoint.status, 404);
  });

  it('should give each tenant its own merge group of a shared name, and refuse a member that cannot merge', async () => {
    const strangerFile = (await gw.api.upload<{ id: string }>(SMALL_TRAIN, strangerKey)).body.id;
    const ownerFile = (await gw.api.upload<{ id: string }>(SMALL_TRAIN, ownerKey)).body.id;
    const group = { aux: { type: 'lowrank', rank: 2 }, merge_group: 'team' };
    const ownerJob = await gw.api.post<{ id: string; method: { merge_group: string } }>(
      '/v1/fine_tuning/jobs',
      { model: 'cola-tiny', training_file: ownerFile, method: group },
      ownerKey,
    );
    const strangerJob = await gw.api.post<{ id: string; method: { merge_group: string } }>(
      '/v1/fine_tuning/jobs',
      { model: 'cola-tiny', training_file: strangerFile, method: group },
      strangerKey,
    );
    assert.deepEqual([ownerJob.status, strangerJob.status], [200, 200], `${ownerJob.text} ${strangerJob.text}`);
    assert.deepEqual([ownerJob.body.method.merge_group, strangerJob.body.method.merge_group], ['team', 'team']);
    // The groups are two Redis sets, one per tenant (what the merger's served store reads).
    assert.notEqual(keys.mergeGroup('owner', 'team'), keys.mergeGroup('stranger', 'team'));
    const mlp = await gw.api.post<ErrorShape>(
      '/v1/fine_tuning/jobs',
      { model: 'cola-tiny', training_file: strangerFile, method: { aux: { type: 'mlp' }, merge_group: 'team' } },
      strangerKey,
    );
    assert.deepEqual([mlp.status, mlp.body.error.code, mlp.body.error.param], [400, 'invalid_job_spec', 'method.merge_group'], mlp.text);
    for (const owned of [ids.job, ids.file, ownerFile, ownerJob.body.id, 'owner'])
      assert.ok(!mlp.text.includes(owned), `the stranger's error names none of the owner's ids (${owned})`);
  });
});
