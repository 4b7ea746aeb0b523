import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { keys } from '@cola/config';
import { JobStore, driveJobTo } from '@cola/pipeline';
import { InferenceService, type ClassifyRequest, type GenerateRequest, type InferenceServer } from '@cola/proto';
import { freePort, useRedis } from '@cola/testing';
import type { ErrorShape } from './support/gateway-client';
import { SMALL_TRAIN, startTestGateway, type TestGateway } from './support/gateway-fixture';

/** Every route of the API, as the OpenAPI document must list it. */
const ROUTES = [
  'post /v1/admin/tenants',
  'get /v1/admin/tenants/{tenant_id}',
  'post /v1/admin/tenants/{tenant_id}/api_keys',
  'get /v1/admin/tenants/{tenant_id}/api_keys',
  'delete /v1/admin/tenants/{tenant_id}/api_keys/{key_id}',
  'post /v1/files',
  'get /v1/files',
  'get /v1/files/{file_id}',
  'get /v1/files/{file_id}/content',
  'delete /v1/files/{file_id}',
  'post /v1/fine_tuning/jobs',
  'get /v1/fine_tuning/jobs',
  'get /v1/fine_tuning/jobs/{job_id}',
  'post /v1/fine_tuning/jobs/{job_id}/cancel',
  'get /v1/fine_tuning/jobs/{job_id}/events',
  'get /v1/fine_tuning/jobs/{job_id}/checkpoints',
  'get /v1/fine_tuning/jobs/{job_id}/adapter',
  'get /v1/fine_tuning/jobs/{job_id}/adapter/config',
  'post /v1/classifications',
  'post /v1/completions',
  'post /v1/chat/completions',
  'get /v1/models',
  'get /v1/models/{model}',
  'get /v1',
  'get /healthz',
  'get /readyz',
  'get /metrics',
];

/** What the stand-in merger was sent, and after how many tokens each cancelled stream stopped. */
interface Seen {
  classify: ClassifyRequest[];
  generate: GenerateRequest[];
  cancelled: number[];
}

/**
 * A stand-in for the merger's gRPC service (the real one runs in the end-to-end test): it records
 * what the gateway sends and answers deterministically, or with a gRPC error for model "fail-<code>".
 */
function stubMerger(seen: Seen): InferenceServer {
  return {
    classify(call, cb) {
      seen.classify.push(call.request);
      cb(null, {
        model: call.request.model,
        version: 7,
        results: call.request.texts.map((t) => ({
          label: t.includes('win') ? 'spam' : 'ham',
          scores: [
            { label: 'ham', score: 0.25 },
            { label: 'spam', score: 0.75 },
          ],
        })),
      });
    },
    generate(call, cb) {
      seen.generate.push(call.request);
      cb(null, { model: call.request.model, version: 0, text: ' Ishmael.', completionTokens: call.request.maxNewTokens });
    },
    generateStream(call) {
      // Prompt "forever": a token every 20 ms until the caller cancels; "fail midway": two tokens,
      // then an internal error; else ' Ishmael.' in three pieces, with a marker for the chat cut.
      const r = call.request;
      seen.generate.push(r);
      const head = { model: r.model, version: 4 };
      call.write({ ...head, text: '', completionTokens: 0 });
      if (r.prompt.includes('forever')) {
        let n = 0;
        const timer = setInterval(() => call.write({ ...head, text: 'la', completionTokens: ++n }), 20);
        call.on('cancelled', () => {
          clearInterval(timer);
          seen.cancelled.push(n);
        });
        return;
      }
      if (r.prompt.includes('fail midway')) {
        call.write({ ...head, text: 'so', completionTokens: 1 });
        call.write({ ...head, text: ' far', completionTokens: 2 });
        setTimeout(() => call.emit('error', { code: status.INTERNAL, details: 'the merger broke (internal detail)' }), 20);
        return;
      }
      [' Ish', 'mael', '.\n<', '|user|>'].forEach((text, i) => call.write({ ...head, text, completionTokens: i + 1 }));
      call.end();
    },
    status(_call, cb) {
      cb(null, { models: [{ name: 'base', baseModel: 'cola-tiny', version: 0, merged: false, mergeGroup: '', updatedAtMs: 1 }] });
    },
  };
}

/** The `data:` payloads of a server-sent event stream, read as they arrive; `onEvent` may stop reading by returning true. */
async function sseData(res: Response, onEvent: (data: string) => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    buf += decoder.decode(value, { stream: true });
    let at: number;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const data = buf.slice(0, at).replace(/^data: /, '');
      buf = buf.slice(at + 2);
      out.push(data);
      if (onEvent(data)) {
        await reader.cancel();
        return out;
      }
    }
  }
}

describe('when the platform behaviour is checked', () => {
  const redis = useRedis();
  const server = new Server();
  const seen: Seen = { classify: [], generate: [], cancelled: [] };
  let gw: TestGateway;
  let key: string;

  before(async () => {
    server.addService(InferenceService, stubMerger(seen));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    gw = await startTestGateway(redis, { mergerAddress: `127.0.0.1:${port}` });
    key = await gw.tenant('acme');
  });
  after(async () => {
    await gw.close();
    server.forceShutdown();
  });

  it('should serve an OpenAPI document at /docs-json listing every route, and the UI at /docs', async () => {
    const doc = await gw.api.get<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(
      '/docs-json',
    );
    assert.equal(doc.status, 200);
    assert.match(doc.body.openapi, /^3\./);
    const listed = Object.entries(doc.body.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    assert.deepEqual([...listed].sort(), [...ROUTES].sort());
    const create = doc.body.paths['/v1/fine_tuning/jobs']!.post!;
    assert.ok(create.responses['400'], 'error responses are documented');
    const ui = await fetch(`${gw.api.baseUrl}/docs`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger/i);
  });

  it('should answer /healthz, /metrics, and /readyz once Redis and the merger answer', async () => {
    assert.deepEqual((await gw.api.get('/healthz')).body, { status: 'ok' });
    const metrics = await gw.api.get<string>('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^process_cpu_user_seconds_total /m);
    assert.match(metrics.text, /cola_gateway_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} 1/);
    const ready = await gw.api.get<{ status: string; checks: Record<string, string> }>('/readyz');
    assert.equal(ready.status, 200, ready.text);
    assert.deepEqual(ready.body.checks, { redis: 'ok', merger: 'ok' });
  });

  it('should classify and complete through the merger, checking the model first', async () => {
    const res = await gw.api.post<{
      object: string;
      model: string;
      model_version: number;
      data: { index: number; label: string; scores: { label: string; score: number }[] }[];
    }>('/v1/classifications', { model: 'cola-tiny', input: ['win money', 'see you at lunch'] }, key);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual([res.body.object, res.body.model, res.body.model_version], ['classification', 'cola-tiny', 7]);
    assert.deepEqual(
      res.body.data.map((d) => [d.index, d.label]),
      [
        [0, 'spam'],
        [1, 'ham'],
      ],
    );
    assert.deepEqual(
      seen.classify.at(-1),
      { model: 'base', texts: ['win money', 'see you at lunch'] },
      'a base model is "base" for the merger',
    );
    const cmpl = await gw.api.post<{
      object: string;
      choices: { text: string; finish_reason: string }[];
      usage: { completion_tokens: number };
    }>('/v1/completions', { model: 'cola-tiny', prompt: 'Call me', max_tokens: 5, temperature: 0, seed: 3 }, key);
    assert.equal(cmpl.status, 200, cmpl.text);
    assert.deepEqual(
      [cmpl.body.object, cmpl.body.choices[0]!.text, cmpl.body.choices[0]!.finish_reason, cmpl.body.usage.completion_tokens],
      ['text_completion', ' Ishmael.', 'length', 5],
    );
    assert.deepEqual(seen.generate.at(-1), { model: 'base', prompt: 'Call me', maxNewTokens: 5, temperature: 0, seed: 3 });
    const models = await gw.api.get<{ data: { id: string; owned_by: string; created: number }[] }>('/v1/models', key);
    // `created` is an integer, as OpenAI's: when this gateway started serving the base model.
    const created = models.body.data[0]?.created;
    assert.ok(Number.isInteger(created) && created! > 1.7e9, `created ${created}`);
    assert.deepEqual(models.body.data, [{ id: 'cola-tiny', object: 'model', created, owned_by: 'system' }]);
  });

  it('should relay each piece the merger streams as its own chunk, and cut a chat answer at the role marker', async () => {
    const post = (path: string, body: object): Promise<Response> =>
      fetch(`${gw.api.baseUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const cmpl = await post('/v1/completions', { model: 'cola-tiny', prompt: 'Call me', max_tokens: 5, stream: true });
    assert.equal(cmpl.status, 200);
    assert.match(cmpl.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = await sseData(cmpl);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events
      .slice(0, -1)
      .map((e) => JSON.parse(e) as { model_version: number; choices: { text: string; finish_reason: string | null }[] });
    assert.deepEqual(
      chunks.map((c) => [c.choices[0]!.text, c.choices[0]!.finish_reason]),
      [
        [' Ish', null],
        ['mael', null],
        ['.\n<', null],
        ['|user|>', null],
        ['', 'stop'],
      ],
      'one chunk per streamed piece, then the finish reason (4 of 5 tokens: stop)',
    );
    assert.ok(chunks.every((c) => c.model_version === 4));

    const chat = await post('/v1/chat/completions', {
      model: 'cola-tiny',
      messages: [{ role: 'user', content: 'Call me' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chatEvents = await sseData(chat);
    const parsed = chatEvents.slice(0, -1).map(
      (e) =>
        JSON.parse(e) as {
          choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[];
          usage?: { completion_tokens: number };
        },
    );
    assert.deepEqual(
      parsed.map((c) => c.choices[0]?.delta.content ?? null),
      ['', ' Ish', 'mael', '.', null, null],
      'the role chunk, the answer up to the marker (the newline before it dropped), the finish, the usage',
    );
    assert.equal(parsed[0]!.choices[0]!.delta.role, 'assistant');
    assert.equal(parsed[4]!.choices[0]!.finish_reason, 'stop');
    assert.equal(parsed[5]!.usage!.completion_tokens, 4);
    const plain = await gw.api.post<{
      choices: { message: { content: string }; finish_reason: string }[];
      usage: { completion_tokens: number };
    }>('/v1/chat/completions', { model: 'cola-tiny', messages: [{ role: 'user', content: 'Call me' }] }, key);
    assert.deepEqual(
      [plain.body.choices[0]!.message.content, plain.body.choices[0]!.finish_reason, plain.body.usage.completion_tokens],
      [' Ishmael.', 'stop', 4],
    );
  });

  it('should cancel the generation when the client goes away, and report an error mid-stream as an error event', async () => {
    const ac = new AbortController();
    const res = await fetch(`${gw.api.baseUrl}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cola-tiny', prompt: 'sing forever', max_tokens: 1000, stream: true }),
      signal: ac.signal,
    });
    let seenChunks = 0;
    await sseData(res, () => ++seenChunks === 3);
    ac.abort();
    // The merger's call is cancelled: the stand-in stops its timer and says after how many tokens.
    for (let i = 0; i < 100 && seen.cancelled.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen.cancelled.length, 1, 'the merger call was cancelled');
    const stoppedAt = seen.cancelled[0]!;
    assert.ok(stoppedAt >= 3 && stoppedAt < 1000, `stopped after ${stoppedAt} tokens`);

    const failing = await fetch(`${gw.api.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cola-tiny', messages: [{ role: 'user', content: 'fail midway' }], stream: true }),
    });
    assert.equal(failing.status, 200, 'the stream had started');
    const events = await sseData(failing);
    assert.notEqual(events.at(-1), '[DONE]', 'a failed stream does not claim to be done');
    const contents = events
      .slice(0, -1)
      .map((e) => (JSON.parse(e) as { choices: { delta: { content?: string } }[] }).choices[0]!.delta.content);
    assert.deepEqual(contents, ['', 'so', ' far']);
    const last = JSON.parse(events.at(-1)!) as { error: { code: string; message: string } };
    assert.equal(last.error.code, 'inference_error');
    assert.doesNotMatch(last.error.message, /internal detail/);
  });

  it('should list a succeeded job as a model and send its ft: name to the merger', async () => {
    const file = (await gw.api.upload<{ id: string }>(SMALL_TRAIN, key)).body.id;
    const job = (await gw.api.post<{ id: string }>('/v1/fine_tuning/jobs', { model: 'cola-tiny', training_file: file }, key)).body.id;
    await driveJobTo(new JobStore(redis.client()), job, 'succeeded');
    const name = `ft:cola-tiny:acme:${job}`;
    const models = await gw.api.get<{ data: { id: string; owned_by: string }[] }>('/v1/models', key);
    assert.deepEqual(
      models.body.data.map((m) => [m.id, m.owned_by]),
      [
        ['cola-tiny', 'system'],
        [name, 'acme'],
      ],
    );
    assert.equal((await gw.api.get<{ fine_tuned_model: string }>(`/v1/fine_tuning/jobs/${job}`, key)).body.fine_tuned_model, name);
    const res = await gw.api.post('/v1/classifications', { model: name, input: 'hello' }, key);
    assert.equal(res.status, 200, res.text);
    assert.equal(seen.classify.at(-1)?.model, name);
  });

  it('should answer a server failure with a generic 500 that carries no stack or internal detail', async () => {
    const file = (await gw.api.upload<{ id: string }>(SMALL_TRAIN, key)).body.id;
    const job = (await gw.api.post<{ id: string }>('/v1/fine_tuning/jobs', { model: 'cola-tiny', training_file: file }, key)).body.id;
    // A record no service would write: reading it throws inside the pipeline's JobStore.
    await redis.client().hset(keys.job(job), 'status', 'exploded');
    const res = await gw.api.get<ErrorShape>(`/v1/fine_tuning/jobs/${job}`, key);
    assert.equal(res.status, 500);
    assert.equal(res.body.error.code, 'internal_error');
    assert.doesNotMatch(res.text, /exploded|JobStore|\s+at\s|\.ts:\d+/);
    assert.match(res.body.error.message, new RegExp(res.headers.get('x-request-id')!));
  });
});

describe('when the merger is down', () => {
  const redis = useRedis();
  let gw: TestGateway;
  let key: string;

  before(async () => {
    gw = await startTestGateway(redis);
    key = await gw.tenant('acme');
  });
  after(() => gw.close());

  it('should not be ready and answer inference with 503', async () => {
    const ready = await gw.api.get<ErrorShape>('/readyz');
    assert.deepEqual([ready.status, ready.body.error.code], [503, 'not_ready']);
    assert.match(ready.body.error.message, /redis: ok; merger: .*unavailable/);
    const res = await gw.api.post<ErrorShape>('/v1/classifications', { model: 'cola-tiny', input: 'x' }, key);
    assert.deepEqual([res.status, res.body.error.code], [503, 'inference_unavailable']);
  });
});

describe('when a tenant exceeds its rate limit', () => {
  const redis = useRedis();
  let gw: TestGateway;
  let gw2: TestGateway;

  before(async () => {
    gw = await startTestGateway(redis, { rateLimit: { limit: 5, windowSeconds: 30 } });
    gw2 = await startTestGateway(redis, { rateLimit: { limit: 5, windowSeconds: 30 } });
  });
  after(async () => {
    await gw.close();
    await gw2.close();
  });

  it('should count across replicas in Redis and answer 429 with Retry-After, per tenant', async () => {
    const a = await gw.tenant('acme');
    const b = await gw.tenant('globex');
    const statuses: number[] = [];
    // Alternate between the two gateways: one shared window in Redis.
    for (let i = 0; i < 7; i++) statuses.push((await (i % 2 ? gw2 : gw).api.get('/v1/files', a)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
    const limited = await gw.api.get<ErrorShape>('/v1/files', a);
    assert.equal(limited.body.error.code, 'rate_limit_exceeded');
    const retry = Number(limited.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 30, `Retry-After ${retry}`);
    assert.equal(limited.headers.get('x-ratelimit-remaining-requests'), '0');
    const other = await gw2.api.get('/v1/files', b);
    assert.equal(other.status, 200, 'another tenant has its own window');
    assert.equal(other.headers.get('x-ratelimit-remaining-requests'), '4');
    assert.equal((await gw.api.get('/healthz')).status, 200, 'public routes are not limited');
  });
});

describe('when the gateway shuts down', () => {
  const redis = useRedis();

  it('should end open event streams and close', async () => {
    const gw = await startTestGateway(redis);
    const key = await gw.tenant('acme');
    const file = (await gw.api.upload<{ id: string }>(SMALL_TRAIN, key)).body.id;
    const job = (await gw.api.post<{ id: string }>('/v1/fine_tuning/jobs', { model: 'cola-tiny', training_file: file }, key)).body.id;
    const res = await fetch(`${gw.api.baseUrl}/v1/fine_tuning/jobs/${job}/events?stream=true`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(res.status, 200);
    const body = res.text();
    const t0 = Date.now();
    await gw.close();
    await body;
    assert.ok(Date.now() - t0 < 2000, `closed in ${Date.now() - t0} ms with a stream open`);
    await assert.rejects(fetch(`${gw.api.baseUrl}/healthz`), 'no longer listening');
  });
});

describe('when Redis is unreachable', () => {
  const redis = useRedis();
  let gw: TestGateway;

  before(async () => {
    gw = await startTestGateway(redis, { redisUrl: `redis://127.0.0.1:${await freePort()}` });
  });
  after(() => gw.close());

  it('should answer 503 (not 500) and not be ready', async () => {
    const res = await gw.api.get<ErrorShape>('/v1/files', 'sk-cola-anything');
    assert.deepEqual([res.status, res.body.error.code], [503, 'storage_unavailable']);
    const ready = await gw.api.get<ErrorShape>('/readyz');
    assert.deepEqual([ready.status, ready.body.error.code], [503, 'not_ready']);
    assert.match(ready.body.error.message, /redis: (?!ok)/);
    assert.equal((await gw.api.get('/healthz')).status, 200, 'alive all the same');
  });
});
