import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JobStore, driveJobTo } from '@cola/pipeline';
import { useRedis } from '@cola/testing';
import type { ApiResponse, ErrorShape } from './support/gateway-client';
import { ADMIN_KEY, classificationJsonl, SMALL_TRAIN, startTestGateway, type TestGateway } from './support/gateway-fixture';
import {
  bodyCases,
  cursorCases,
  malformedIdCases,
  numberAcceptedCases,
  numberBoundCases,
  shapeCases,
  type TableCase,
  type TableInputs,
} from './support/bad-input-table';

/** One bad request and what it must answer. */
interface BadCase {
  name: string;
  send: () => Promise<ApiResponse<ErrorShape>>;
  status: number;
  code: string;
  /** Expected `param`; undefined = not checked. */
  param?: string | null;
}

/** Smallest body and upload limits, so the oversize cases send a few KB. */
const BODY_MAX = 4096;
const UPLOAD_MAX = 4096;

describe('when requests are wrong', () => {
  const redis = useRedis();
  let gw: TestGateway;
  let key: string;
  let revokedKey: string;
  let otherKey: string;
  let train: string;
  let completion: string;
  let oneLabel: string;
  let otherLabels: string;
  let othersFile: string;
  let finishedJob: string;
  let runningJob: string;
  let othersJobModel: string;
  const job = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ model: 'cola-tiny', training_file: train, ...over });

  before(async () => {
    gw = await startTestGateway(redis, { bodyMaxBytes: BODY_MAX, uploadMaxBytes: UPLOAD_MAX, baseModelLayers: 2 });
    key = await gw.tenant('acme');
    otherKey = await gw.tenant('globex');
    const revoked = await gw.api.post<{ key: string; id: string }>('/v1/admin/tenants/acme/api_keys', {}, ADMIN_KEY);
    revokedKey = revoked.body.key;
    await gw.api.request('DELETE', `/v1/admin/tenants/acme/api_keys/${revoked.body.id}`, { key: ADMIN_KEY });
    const up = async (body: string, k = key): Promise<string> => (await gw.api.upload<{ id: string }>(body, k)).body.id;
    train = await up(SMALL_TRAIN);
    completion = await up('{"prompt":"a","completion":"b"}\n');
    oneLabel = await up(
      classificationJsonl([
        ['a', 'x'],
        ['b', 'x'],
      ]),
    );
    otherLabels = await up(
      classificationJsonl([
        ['a', 'ham'],
        ['b', 'eggs'],
      ]),
    );
    othersFile = await up(SMALL_TRAIN, otherKey);
    const store = new JobStore(redis.client());
    finishedJob = (await gw.api.post<{ id: string }>('/v1/fine_tuning/jobs', job(), key)).body.id;
    await driveJobTo(store, finishedJob, 'succeeded');
    runningJob = (await gw.api.post<{ id: string }>('/v1/fine_tuning/jobs', job(), key)).body.id;
    await driveJobTo(store, runningJob, 'running');
    const othersJob = (
      await gw.api.post<{ id: string }>('/v1/fine_tuning/jobs', { model: 'cola-tiny', training_file: othersFile }, otherKey)
    ).body.id;
    await driveJobTo(store, othersJob, 'succeeded');
    othersJobModel = `ft:cola-tiny:globex:${othersJob}`;
  });
  after(() => gw.close());

  const create = (body: unknown, k: string = key) => gw.api.request<ErrorShape>('POST', '/v1/fine_tuning/jobs', { key: k, json: body });
  const hp = (h: Record<string, unknown>) => create(job({ hyperparameters: h }));
  const method = (m: Record<string, unknown>) => create(job({ method: m }));

  const cases: BadCase[] = [
    {
      name: 'no API key',
      send: () => gw.api.request<ErrorShape>('POST', '/v1/fine_tuning/jobs', { json: job() }),
      status: 401,
      code: 'missing_api_key',
      param: null,
    },
    { name: 'a revoked API key', send: () => create(job(), revokedKey), status: 401, code: 'invalid_api_key', param: null },
    {
      name: 'malformed JSONL upload',
      send: () => gw.api.upload<ErrorShape>('{"text": "x", "label": "a"}\n{oops}\n', key),
      status: 400,
      code: 'invalid_json',
      param: 'file',
    },
    { name: 'an empty file', send: () => gw.api.upload<ErrorShape>('', key), status: 400, code: 'empty_file', param: 'file' },
    {
      name: 'an oversized file',
      send: () => gw.api.upload<ErrorShape>(SMALL_TRAIN.repeat(40), key),
      status: 413,
      code: 'file_too_large',
      param: 'file',
    },
    {
      name: 'a body that is not JSON',
      send: () =>
        gw.api.request<ErrorShape>('POST', '/v1/fine_tuning/jobs', {
          key,
          raw: '{"model": ',
          headers: { 'content-type': 'application/json' },
        }),
      status: 400,
      code: 'invalid_json',
      param: null,
    },
    {
      name: 'a body over the size limit',
      send: () => create(job({ suffix: 'x'.repeat(BODY_MAX) })),
      status: 413,
      code: 'request_too_large',
      param: null,
    },
    { name: 'no model', send: () => create({ training_file: train }), status: 400, code: 'invalid_request', param: 'model' },
    { name: 'an unknown model', send: () => create(job({ model: 'gpt-4o' })), status: 400, code: 'unknown_model', param: 'model' },
    {
      name: 'a fine-tuned model as the base',
      send: () => create(job({ model: `ft:cola-tiny:acme:${finishedJob}` })),
      status: 400,
      code: 'unknown_model',
      param: 'model',
    },
    { name: 'no training file', send: () => create({ model: 'cola-tiny' }), status: 400, code: 'invalid_request', param: 'training_file' },
    {
      name: 'an unknown file id',
      send: () => create(job({ training_file: 'file-doesnotexist' })),
      status: 400,
      code: 'file_not_found',
      param: 'training_file',
    },
    {
      name: "another tenant's file as training_file",
      send: () => create(job({ training_file: othersFile })),
      status: 400,
      code: 'file_not_found',
      param: 'training_file',
    },
    {
      name: 'an unknown validation file',
      send: () => create(job({ validation_file: 'file-nope' })),
      status: 400,
      code: 'file_not_found',
      param: 'validation_file',
    },
    {
      name: 'a classification task on a completion file',
      send: () => create(job({ training_file: completion, task: 'classification' })),
      status: 400,
      code: 'invalid_training_file',
      param: 'training_file',
    },
    {
      name: 'a validation file of another kind',
      send: () => create(job({ validation_file: completion })),
      status: 400,
      code: 'invalid_validation_file',
      param: 'validation_file',
    },
    {
      name: 'validation labels the training file lacks',
      send: () => create(job({ validation_file: otherLabels })),
      status: 400,
      code: 'invalid_validation_file',
      param: 'validation_file',
    },
    {
      name: 'a single-label training file',
      send: () => create(job({ training_file: oneLabel })),
      status: 400,
      code: 'invalid_job_spec',
      param: 'training_file',
    },
    {
      name: 'gram transfer with an mlp aux',
      send: () => method({ aux: { type: 'mlp', hidden: [16] }, transfer: { mode: 'gram' } }),
      status: 400,
      code: 'invalid_job_spec',
      param: 'method.transfer.mode',
    },
    {
      name: 'gram transfer with lowrank input dropout',
      send: () => method({ aux: { type: 'lowrank', dropout: 0.1 }, transfer: { mode: 'gram' } }),
      status: 400,
      code: 'invalid_job_spec',
      param: 'method.transfer.mode',
    },
    {
      name: 'merged mode with an mlp aux',
      send: () => method({ aux: { type: 'mlp', hidden: [16] }, merged: true }),
      status: 400,
      code: 'invalid_job_spec',
      param: 'method.merged',
    },
    {
      name: 'an unknown aux type',
      send: () => method({ aux: { type: 'prefix' } }),
      status: 400,
      code: 'invalid_request',
      param: 'method.aux.type',
    },
    {
      name: 'rank 0',
      send: () => method({ aux: { type: 'lowrank', rank: 0 } }),
      status: 400,
      code: 'invalid_request',
      param: 'method.aux.rank',
    },
    {
      name: 'a lowrank field on an mlp aux',
      send: () => method({ aux: { type: 'mlp', rank: 4 } }),
      status: 400,
      code: 'invalid_job_spec',
      param: 'method.aux.rank',
    },
    {
      name: 'an unknown target module',
      send: () => method({ target_modules: ['c_attn', 'q_proj'] }),
      status: 400,
      code: 'invalid_job_spec',
      param: 'method.target_modules.1',
    },
    {
      name: 'the classifier head on a causal LM job',
      send: () => create(job({ training_file: completion, method: { target_modules: ['c_attn', 'score'] } })),
      status: 400,
      code: 'invalid_job_spec',
      param: 'method.target_modules',
    },
    {
      name: 'an absurd staleness',
      send: () => method({ staleness: 1000 }),
      status: 400,
      code: 'invalid_request',
      param: 'method.staleness',
    },
    { name: 'method as a string', send: () => create(job({ method: 'cola' })), status: 400, code: 'invalid_request', param: 'method' },
    {
      name: 'a negative learning rate',
      send: () => hp({ learning_rate: -0.001 }),
      status: 400,
      code: 'invalid_request',
      param: 'hyperparameters.learning_rate',
    },
    {
      name: 'a non-numeric batch size',
      send: () => hp({ batch_size: 'eight' }),
      status: 400,
      code: 'invalid_request',
      param: 'hyperparameters.batch_size',
    },
    {
      name: 'a numeric string as epochs',
      send: () => hp({ n_epochs: '3' }),
      status: 400,
      code: 'invalid_request',
      param: 'hyperparameters.n_epochs',
    },
    {
      name: 'an absurd batch size',
      send: () => hp({ batch_size: 1_000_000 }),
      status: 400,
      code: 'invalid_request',
      param: 'hyperparameters.batch_size',
    },
    { name: 'batch size 0', send: () => hp({ batch_size: 0 }), status: 400, code: 'invalid_request', param: 'hyperparameters.batch_size' },
    {
      name: 'fractional epochs',
      send: () => hp({ n_epochs: 2.5 }),
      status: 400,
      code: 'invalid_request',
      param: 'hyperparameters.n_epochs',
    },
    {
      name: 'a misspelt hyperparameter',
      send: () => hp({ n_epoch: 3 }),
      status: 400,
      code: 'unknown_parameter',
      param: 'hyperparameters.n_epoch',
    },
    {
      name: 'learning rate and multiplier together',
      send: () => hp({ learning_rate: 0.001, learning_rate_multiplier: 2 }),
      status: 400,
      code: 'invalid_job_spec',
      param: 'hyperparameters.learning_rate_multiplier',
    },
    {
      name: 'momentum with AdamW',
      send: () => hp({ optimizer: 'adamw', momentum: 0.9 }),
      status: 400,
      code: 'invalid_job_spec',
      param: 'hyperparameters.momentum',
    },
    { name: 'a negative seed', send: () => create(job({ seed: -1 })), status: 400, code: 'invalid_request', param: 'seed' },
    {
      name: 'a bad cursor',
      send: () => gw.api.get<ErrorShape>(`/v1/fine_tuning/jobs?after=ftjob-nope`, key),
      status: 400,
      code: 'invalid_cursor',
      param: 'after',
    },
    {
      name: 'a page size of 0',
      send: () => gw.api.get<ErrorShape>('/v1/fine_tuning/jobs?limit=0', key),
      status: 400,
      code: 'invalid_request',
      param: 'limit',
    },
    {
      name: 'a malformed event cursor',
      send: () => gw.api.get<ErrorShape>(`/v1/fine_tuning/jobs/${finishedJob}/events?after=42`, key),
      status: 400,
      code: 'invalid_cursor',
      param: 'after',
    },
    {
      name: 'cancelling a finished job',
      send: () => gw.api.post<ErrorShape>(`/v1/fine_tuning/jobs/${finishedJob}/cancel`, {}, key),
      status: 409,
      code: 'job_not_cancellable',
      param: null,
    },
    {
      name: 'the adapter of a job that has none yet',
      send: () => gw.api.get<ErrorShape>(`/v1/fine_tuning/jobs/${runningJob}/adapter`, key),
      status: 409,
      code: 'adapter_not_ready',
      param: null,
    },
    {
      name: 'inference with a model the tenant may not use',
      send: () => gw.api.post<ErrorShape>('/v1/classifications', { model: othersJobModel, input: 'hello' }, key),
      status: 404,
      code: 'model_not_found',
      param: 'model',
    },
    {
      name: 'inference with a model that is still training',
      send: () => gw.api.post<ErrorShape>('/v1/classifications', { model: `ft:cola-tiny:acme:${runningJob}`, input: 'hello' }, key),
      status: 409,
      code: 'model_not_ready',
      param: 'model',
    },
    {
      name: 'inference with a malformed model name',
      send: () => gw.api.post<ErrorShape>('/v1/completions', { model: 'ft:::', prompt: 'hi' }, key),
      status: 404,
      code: 'model_not_found',
      param: 'model',
    },
    {
      name: 'an empty classification input',
      send: () => gw.api.post<ErrorShape>('/v1/classifications', { model: 'cola-tiny', input: [] }, key),
      status: 400,
      code: 'invalid_request',
      param: 'input',
    },
    {
      name: 'max_tokens 0',
      send: () => gw.api.post<ErrorShape>('/v1/completions', { model: 'cola-tiny', prompt: 'hi', max_tokens: 0 }, key),
      status: 400,
      code: 'invalid_request',
      param: 'max_tokens',
    },
    { name: 'an unknown route', send: () => gw.api.get<ErrorShape>('/v1/nothing-here', key), status: 404, code: 'not_found', param: null },
  ];

  it(`should answer each of ${cases.length} bad requests with its status and code, in the one error shape`, async () => {
    assert.ok(cases.length >= 25);
    const jobsBefore = await redis.client().zcard('cola:tenant:acme:jobs');
    const failures: string[] = [];
    for (const c of cases) {
      const res = await c.send();
      const e = (res.body as ErrorShape | undefined)?.error;
      const ok = res.status === c.status && e?.code === c.code && (c.param === undefined || e?.param === c.param);
      if (!ok) {
        failures.push(`${c.name}: expected ${c.status} ${c.code} ${String(c.param)}, got ${res.status} ${res.text.slice(0, 300)}`);
        continue;
      }
      // The shape: exactly code, message and param, a readable message, and no stack trace.
      assert.deepEqual(Object.keys(res.body as object), ['error'], `${c.name}: ${res.text}`);
      assert.deepEqual(Object.keys(e ?? {}).sort(), ['code', 'message', 'param'], c.name);
      assert.ok(typeof e?.message === 'string' && e.message.length > 10, `${c.name}: message "${e?.message}"`);
      assert.doesNotMatch(res.text, /\s+at\s+\S+\s+\(|node_modules|\.ts:\d+/, `${c.name} leaks a stack: ${res.text}`);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/, c.name);
    }
    assert.deepEqual(failures, []);
    assert.equal(await redis.client().zcard('cola:tenant:acme:jobs'), jobsBefore, 'no rejected request created a job');
  });

  /** Sends a table case with the tenant key and checks its answer; returns a failure line or undefined. */
  async function check(c: TableCase): Promise<string | undefined> {
    const r = c.request;
    const res = await gw.api.request<ErrorShape>(r.method, r.path, {
      key: r.noKey ? undefined : key,
      ...(r.json !== undefined ? { json: r.json } : {}),
      ...(r.raw !== undefined ? { raw: r.raw } : {}),
      ...(r.headers ? { headers: r.headers } : {}),
    });
    const e = (res.body as ErrorShape | undefined)?.error;
    if (res.status !== c.status) return `${c.name}: expected ${c.status} ${c.code ?? ''}, got ${res.status} ${res.text.slice(0, 240)}`;
    if (c.status < 400) return undefined;
    if (c.code !== undefined && e?.code !== c.code) return `${c.name}: expected code ${c.code}, got ${res.text.slice(0, 240)}`;
    if (c.param !== undefined && e?.param !== c.param) return `${c.name}: expected param ${String(c.param)}, got ${res.text.slice(0, 240)}`;
    if (!e || Object.keys(e).sort().join() !== 'code,message,param' || typeof e.message !== 'string' || e.message.length < 10)
      return `${c.name}: not the API's error shape: ${res.text.slice(0, 240)}`;
    if (/\s+at\s+\S+\s+\(|node_modules|\.ts:\d+/.test(res.text)) return `${c.name}: leaks a stack: ${res.text.slice(0, 240)}`;
    return undefined;
  }

  it('should answer every generated bad request (bounds, ids, cursors, bodies, shapes) with its 4xx in the error shape', async () => {
    const inputs: TableInputs = { trainingFile: train, jobId: finishedJob };
    const table = [...numberBoundCases(inputs), ...malformedIdCases(), ...cursorCases(inputs), ...bodyCases(inputs), ...shapeCases(inputs)];
    assert.ok(cases.length + table.length >= 200, `${cases.length + table.length} cases`);
    console.log(`bad-input table: ${cases.length} hand-written + ${table.length} generated = ${cases.length + table.length} cases`);
    const jobsBefore = await redis.client().zcard('cola:tenant:acme:jobs');
    const failures: string[] = [];
    for (const c of table) {
      const f = await check(c);
      if (f) failures.push(f);
    }
    assert.deepEqual(failures, []);
    assert.equal(await redis.client().zcard('cola:tenant:acme:jobs'), jobsBefore, 'no rejected request created a job');
  });

  it('should accept every create-job number at its bounds', async () => {
    const accepted = numberAcceptedCases({ trainingFile: train, jobId: finishedJob });
    const failures: string[] = [];
    for (const c of accepted) {
      const f = await check(c);
      if (f) failures.push(f);
    }
    assert.deepEqual(failures, []);
  });
});
