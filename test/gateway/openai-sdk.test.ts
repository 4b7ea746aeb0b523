/**
 * The official `openai` npm SDK, unchanged, against the running stack (gateway, gpu-host, an
 * aux-trainer and the merger on a real Redis, with the committed cola-tiny base): files, every
 * fine-tuning job call, models, completions and chat completions, streamed and not, on the base
 * model and on the model a chat-format training file fine-tuned; then the README's SDK snippet,
 * run as printed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { LocalStack } from '@cola/devstack';
import { useRedis } from '@cola/testing';

const ADMIN_KEY = 'openai-sdk-admin-key-0123456789';
const ROOT = join(import.meta.dirname, '..', '..');

/** Short chats in OpenAI's fine-tuning format: a one-word answer to a greeting or a farewell. */
function chatFile(n: number): string {
  const rows = Array.from({ length: n }, (_, i) => {
    const hello = i % 2 === 0;
    return JSON.stringify({
      messages: [
        { role: 'system', content: 'Answer in one word.' },
        { role: 'user', content: hello ? `Hello ${i}!` : `Goodbye ${i}!` },
        { role: 'assistant', content: hello ? 'Hi.' : 'Bye.' },
      ],
    });
  });
  return rows.join('\n') + '\n';
}

async function admin<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** GenerateStream calls the merger recorded as cancelled, from its /metrics. */
async function mergerCancelled(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const m = text.match(/^cola_inference_seconds_count\{[^}]*method="GenerateStream"[^}]*outcome="cancelled"[^}]*\} (\d+)$/m);
  return m ? Number(m[1]) : 0;
}

/** Every chunk of an SDK stream, in order. */
async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

describe('when a tenant uses the official openai SDK against the running stack', () => {
  const redis = useRedis();
  let stack: LocalStack;
  let client: OpenAI;
  let key: string;

  before(async () => {
    await redis.whenReady();
    stack = new LocalStack({
      defaultPorts: false,
      redisUrl: redis.url,
      adminKey: ADMIN_KEY,
      trainers: 1,
      log: process.env.COLA_TEST_VERBOSE ? undefined : () => undefined,
    });
    await stack.start();
    await admin(`${stack.apiUrl}/v1/admin/tenants`, { id: 'sdk', name: 'SDK user' });
    key = (await admin<{ key: string }>(`${stack.apiUrl}/v1/admin/tenants/sdk/api_keys`, {})).key;
    client = new OpenAI({ apiKey: key, baseURL: `${stack.apiUrl}/v1`, maxRetries: 0, timeout: 60_000 });
  });

  after(async () => {
    await stack?.stop();
  });

  it('should upload a chat file, fine-tune with method supervised, and chat with the result', { timeout: 600_000 }, async () => {
    // Files.
    const body = chatFile(32);
    const file = await client.files.create({ file: await toFile(Buffer.from(body), 'chat.jsonl'), purpose: 'fine-tune' });
    assert.match(file.id, /^file-/);
    assert.equal((await client.files.retrieve(file.id)).id, file.id);
    assert.ok((await client.files.list()).data.some((f) => f.id === file.id));
    assert.equal(await (await client.files.content(file.id)).text(), body);

    // A job with OpenAI's own method shape, and one cancelled at once.
    const job = await client.fineTuning.jobs.create({
      model: 'cola-tiny',
      training_file: file.id,
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 1, batch_size: 8 } } },
      seed: 7,
    });
    assert.equal(job.object, 'fine_tuning.job');
    assert.equal(Number.isInteger(job.created_at), true);
    const doomed = await client.fineTuning.jobs.create({ model: 'cola-tiny', training_file: file.id, seed: 8 });
    const cancelled = await client.fineTuning.jobs.cancel(doomed.id);
    assert.ok(['cancelled', 'cancelling'].includes(cancelled.status), cancelled.status);

    const listed: string[] = [];
    for await (const j of client.fineTuning.jobs.list({ limit: 1 })) listed.push(j.id);
    assert.deepEqual(new Set(listed), new Set([job.id, doomed.id]), 'auto-pagination walks every job');

    let done = await client.fineTuning.jobs.retrieve(job.id);
    const deadline = Date.now() + 480_000;
    while (!['succeeded', 'failed', 'cancelled'].includes(done.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      done = await client.fineTuning.jobs.retrieve(job.id);
    }
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.ok(done.fine_tuned_model);
    const events = await client.fineTuning.jobs.listEvents(job.id, { limit: 100 });
    assert.ok(events.data.length > 0 && events.data.every((e) => e.object === 'fine_tuning.job.event'));
    const checkpoints = await client.fineTuning.jobs.checkpoints.list(job.id);
    assert.ok(Array.isArray(checkpoints.data));

    // Models: integer `created` everywhere.
    const models = await client.models.list();
    const ids = models.data.map((m) => m.id);
    assert.ok(ids.includes('cola-tiny') && ids.includes(done.fine_tuned_model!), ids.join(', '));
    for (const m of models.data) assert.ok(Number.isInteger(m.created), `${m.id} created ${m.created}`);
    const ft = await client.models.retrieve(done.fine_tuned_model!);
    assert.ok(Number.isInteger(ft.created));

    // Completions, plain and streamed. Temperature 0 is greedy decoding, so both give the same text;
    // the plain one comes from the merger's unary Generate, the streamed one token by token.
    const cmpl = await client.completions.create({ model: 'cola-tiny', prompt: 'Call me', max_tokens: 24, temperature: 0 });
    assert.equal(cmpl.object, 'text_completion');
    const t0 = performance.now();
    let firstPieceMs = 0;
    const cmplChunks: OpenAI.Completions.Completion[] = [];
    for await (const c of await client.completions.create({
      model: 'cola-tiny',
      prompt: 'Call me',
      max_tokens: 24,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    })) {
      if (!firstPieceMs && c.choices[0]?.text) firstPieceMs = performance.now() - t0;
      cmplChunks.push(c);
    }
    const wholeMs = performance.now() - t0;
    const pieces = cmplChunks.map((c) => c.choices[0]?.text ?? '').filter((t) => t !== '');
    assert.ok(pieces.length > 1, `the answer arrives in ${pieces.length} chunks: ${JSON.stringify(pieces)}`);
    assert.equal(pieces.join(''), cmpl.choices[0]!.text, 'the stream spells the same text');
    assert.equal(cmplChunks.at(-2)!.choices[0]!.finish_reason, cmpl.choices[0]!.finish_reason);
    assert.deepEqual(cmplChunks.at(-1)!.usage, cmpl.usage, 'the same tokens were generated');
    // Logged, not asserted: the first piece comes after one token, the rest as they are generated.
    console.log(
      `streamed completion: first piece after ${firstPieceMs.toFixed(0)} ms, the whole answer after ${wholeMs.toFixed(0)} ms: ${JSON.stringify(pieces)}`,
    );

    // Chunks leave as tokens are generated: a client that stops reading after the first one
    // cancels a long generation on the merger (recorded there as a cancelled GenerateStream).
    const merger = stack.info.find((i) => i.name === 'merger')!;
    const cancelledBefore = await mergerCancelled(merger.metricsUrl);
    const long = await client.completions.create({ model: 'cola-tiny', prompt: 'Call me', max_tokens: 500, temperature: 0, stream: true });
    let firstPiece: string | undefined;
    for await (const c of long) {
      firstPiece = c.choices[0]?.text;
      assert.equal(c.choices[0]?.finish_reason, null, 'the first chunk comes long before the end');
      if (firstPiece) break;
    }
    assert.ok(firstPiece, 'a first piece arrived');
    let stopped = cancelledBefore;
    for (let i = 0; i < 100 && stopped === cancelledBefore; i++) {
      await new Promise((r) => setTimeout(r, 100));
      stopped = await mergerCancelled(merger.metricsUrl);
    }
    assert.equal(stopped, cancelledBefore + 1, 'the merger stopped generating when the client went away');

    // Chat completions on the base and the fine-tuned model, plain and streamed.
    const messages = [
      { role: 'system' as const, content: 'Answer in one word.' },
      { role: 'user' as const, content: 'Hello 100!' },
    ];
    for (const model of ['cola-tiny', done.fine_tuned_model!]) {
      const chat = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
      assert.equal(chat.object, 'chat.completion');
      assert.equal(chat.choices[0]!.message.role, 'assistant');
      assert.equal(typeof chat.choices[0]!.message.content, 'string');
      assert.ok(
        chat.usage && chat.usage.prompt_tokens > 0 && chat.usage.total_tokens === chat.usage.prompt_tokens + chat.usage.completion_tokens,
      );
      const chunks = await collect(
        await client.chat.completions.create({
          model,
          messages,
          max_tokens: 12,
          temperature: 0,
          stream: true,
          stream_options: { include_usage: true },
        }),
      );
      assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
      assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1, 'one chunk carries the finish reason');
      assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)!.choices[0]!.finish_reason, chat.choices[0]!.finish_reason);
      assert.equal(chunks[0]!.choices[0]!.delta.role, 'assistant');
      const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
      assert.equal(text, chat.choices[0]!.message.content, `${model}: the stream spells the same answer`);
      assert.deepEqual(chunks.at(-1)!.usage, chat.usage, 'the last chunk carries the usage');
      console.log(`${model}: ${JSON.stringify(chat.choices[0]!.message.content)} (${chat.choices[0]!.finish_reason})`);
    }
    // The fine-tuned model learned the template's answers: it answers the greeting as trained.
    const learned = await client.chat.completions.create({ model: done.fine_tuned_model!, messages, max_tokens: 12, temperature: 0 });
    console.log(`fine-tuned answer to a greeting: ${JSON.stringify(learned.choices[0]!.message.content)}`);

    // The SDK's errors carry the gateway's error shape.
    await assert.rejects(
      client.chat.completions.create({ model: 'ft:cola-tiny:other:ftjob-nope', messages }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && (e.error as { code?: string }).code === 'model_not_found',
    );
  });
  it("should run the README's SDK snippet as printed", { timeout: 600_000 }, async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('**The official OpenAI SDK works unchanged**'));
    const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(snippet?.includes('client.chat.completions.create'), 'the README has the SDK snippet');
    // Next to node_modules so `openai` resolves; run in a temp dir, where it writes chat.jsonl.
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    const file = join(ROOT, 'test-artifacts', 'readme-sdk.mts');
    writeFileSync(file, snippet!);
    const cwd = mkdtempSync(join(tmpdir(), 'cola-readme-sdk-'));
    const succeeded = async (): Promise<number> => {
      let n = 0;
      for await (const j of client.fineTuning.jobs.list()) if (j.status === 'succeeded') n++;
      return n;
    };
    const succeededBefore = await succeeded();
    try {
      const run = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), [file], {
          cwd,
          env: { ...process.env, COLA_API_URL: stack.apiUrl, COLA_API_KEY: key },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (b: Buffer) => (out += b.toString()));
        child.stderr.on('data', (b: Buffer) => (err += b.toString()));
        child.on('close', (code) => resolve({ code, out, err }));
      });
      assert.equal(run.code, 0, `the snippet failed: ${run.err}`);
      console.log(`README snippet printed: ${JSON.stringify(run.out)}`);
      assert.equal(await succeeded(), succeededBefore + 1, 'the snippet fine-tuned a model');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
