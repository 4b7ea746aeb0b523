/**
 * The gateway end to end over real HTTP, against the whole running stack: the gateway, a
 * gpu-host, two aux-trainers and the merger as child processes on a real Redis, with a tiny
 * random base checkpoint. A tenant does everything through the public API only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENV, keys } from '@cola/config';
import { PipelineStack, removeDir, writeTinyCheckpoint } from '@cola/devstack';
import { initBackend } from '@cola/gl';
import { loadCheckpoint } from '@cola/model';
import { classificationTask, finetune } from '@cola/train';
import { AuxStateStore } from '@cola/store';
import { freePort, ServiceProcess, useRedis } from '@cola/testing';
import { GatewayClient, type ErrorShape } from '../../libs/gateway/test/support/gateway-client';
import { ADMIN_KEY } from '../../libs/gateway/test/support/gateway-fixture';
import { questionRows, type QuestionRow } from '../support/question-rows';

/** Tokens per example: the tiny model's context (TINY_CONFIG.nPositions). */
const MAX_LENGTH = 32;

/**
 * Question detection on real sentences of Moby Dick: short questions vs short statements,
 * balanced and interleaved. Measured with the single-process trainer on the tiny random model
 * (1 epoch, batch 8, lr 0.02): held-out accuracy 1.0 after 16 steps for several seeds, while the
 * untrained model scores anywhere from 0.2 to 0.8; SpamAssassin e-mails cut to 32 bytes gave
 * 0.5-0.55 on the same budget, too close to chance to tell a gain from noise.
 */
function questionData(train: number, heldOut: number): { train: QuestionRow[]; heldOut: QuestionRow[] } {
  return { train: questionRows(train), heldOut: questionRows(heldOut, train / 2) };
}

/** Job settings shared by the API request and the reference run of the base model. */
const JOB = { seed: 3, batchSize: 8, lr: 0.02, rank: 4 } as const;

/**
 * Held-out accuracy of the base model as the job starts from it: the base checkpoint with the
 * classifier head `finetune` (and the gpu-host and merger) seed for the job, and every aux at
 * its zero init. The tiny base has no classifier head of its own, so the merger answers Classify
 * on the bare base with 400 (checked below); this is the base model a classification job adapts.
 */
async function baseAccuracy(modelDir: string, data: ReturnType<typeof questionData>): Promise<number> {
  const model = await loadCheckpoint(modelDir);
  try {
    const task = classificationTask('base', data.train, data.heldOut, ['question', 'statement']);
    const r = await finetune(
      model,
      task,
      {
        method: 'cola',
        aux: { type: 'lowrank', rank: JOB.rank },
        optimizer: { type: 'adamw', lr: JOB.lr },
        batchSize: JOB.batchSize,
        maxLength: MAX_LENGTH,
        seed: JOB.seed,
        maxSteps: 1,
      },
      { quiet: true, evaluateBefore: true, skipEvaluation: true },
    );
    r.adapters.dispose();
    return r.before!.value;
  } finally {
    model.dispose();
  }
}

const toJsonl = (rows: { text: string; label: string }[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Reads an SSE stream to its end. */
async function readSse(
  res: Response,
): Promise<{ events: { message: string; type: string; data: Record<string, number> | null }[]; done: { status: string } | undefined }> {
  const events: { message: string; type: string; data: Record<string, number> | null }[] = [];
  let done: { status: string } | undefined;
  for (const block of (await res.text()).split('\n\n')) {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (!data) continue;
    if (event === 'done') done = JSON.parse(data) as { status: string };
    else events.push(JSON.parse(data) as (typeof events)[number]);
  }
  return { events, done };
}

/** The safetensors header (names, dtypes, shapes), parsed by hand as a client would. */
function safetensorsHeader(bytes: Uint8Array): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  delete header.__metadata__;
  return header as ReturnType<typeof safetensorsHeader>;
}

describe('when a tenant fine-tunes through the API of the running stack', () => {
  const redis = useRedis();
  let stack: PipelineStack;
  let gateway: ServiceProcess;
  let modelDir: string;
  let api: GatewayClient;
  let key: string;
  const data = questionData(128, 64);

  before(async () => {
    await initBackend({ log: null });
    modelDir = await writeTinyCheckpoint(1);
    stack = new PipelineStack({ redisUrl: redis.url, modelDir });
    await stack.startAll(2);
    const port = await freePort();
    gateway = new ServiceProcess({
      name: 'gateway',
      app: 'gateway',
      env: {
        [ENV.REDIS_URL]: redis.url,
        [ENV.GATEWAY_PORT]: String(port),
        [ENV.MERGER_ADDRESS]: stack.mergerAddress,
        [ENV.GATEWAY_ADMIN_KEY]: ADMIN_KEY,
        [ENV.LOG_LEVEL]: 'warn',
      },
      // /readyz: the gateway answers, Redis answers and the merger answers.
      healthUrl: `http://127.0.0.1:${port}/readyz`,
      log: process.env.COLA_TEST_VERBOSE ? undefined : () => undefined,
    });
    await gateway.start();
    stack.services.set('gateway', gateway);
    api = new GatewayClient(`http://127.0.0.1:${port}`);
    assert.equal((await api.post('/v1/admin/tenants', { id: 'acme', name: 'ACME' }, ADMIN_KEY)).status, 201);
    key = (await api.post<{ key: string }>('/v1/admin/tenants/acme/api_keys', {}, ADMIN_KEY)).body.key;
  });

  after(async () => {
    await stack?.stop();
    if (modelDir) removeDir(modelDir);
  });

  /** Held-out accuracy of `model` through POST /v1/classifications. */
  async function accuracy(model: string): Promise<{ value: number; version: number }> {
    const res = await api.post<{ model_version: number; data: { label: string }[] }>(
      '/v1/classifications',
      { model, input: data.heldOut.map((r) => r.text) },
      key,
    );
    assert.equal(res.status, 200, res.text);
    const hits = res.body.data.filter((d, i) => d.label === data.heldOut[i]!.label).length;
    return { value: hits / data.heldOut.length, version: res.body.model_version };
  }

  it('should train, stream its events, give the adapter and classify held-out data better than the base model', async () => {
    const train = await api.upload<{ id: string; rows: number }>(toJsonl(data.train), key, 'questions-train.jsonl');
    const heldOut = await api.upload<{ id: string }>(toJsonl(data.heldOut), key, 'questions-val.jsonl');
    assert.deepEqual([train.status, train.body.rows], [200, 128]);
    const bare = await api.post<ErrorShape>('/v1/classifications', { model: 'cola-tiny', input: 'Is it?' }, key);
    assert.deepEqual(
      [bare.status, bare.body.error.code],
      [400, 'unsupported_for_model'],
      'the tiny base is a causal LM without a classifier head',
    );
    const base = await baseAccuracy(modelDir, data);

    const created = await api.post<{ id: string; status: string }>(
      '/v1/fine_tuning/jobs',
      {
        model: 'cola-tiny',
        training_file: train.body.id,
        validation_file: heldOut.body.id,
        method: { aux: { type: 'lowrank', rank: JOB.rank } },
        hyperparameters: { n_epochs: 1, batch_size: JOB.batchSize, learning_rate: JOB.lr, max_length: MAX_LENGTH },
        seed: JOB.seed,
      },
      key,
    );
    assert.equal(created.status, 200, created.text);
    const jobId = created.body.id;

    const stream = await fetch(`${api.baseUrl}/v1/fine_tuning/jobs/${jobId}/events`, {
      headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
      signal: AbortSignal.timeout(240_000),
    });
    assert.equal(stream.status, 200);
    const { events, done } = await readSse(stream);
    assert.deepEqual(done, { status: 'succeeded' }, `events: ${events.map((e) => e.message).join(' | ')}`);
    const metrics = events.filter((e) => e.type === 'metrics');
    assert.ok(metrics.length > 0, 'progress events carry metrics');
    assert.ok(
      metrics.some((e) => (e.data?.bytes ?? 0) > 0 && e.data?.loss !== undefined),
      'with loss and bytes transferred',
    );

    const job = (
      await api.get<{
        status: string;
        fine_tuned_model: string;
        result: { metric: string; value: number } | null;
        progress: { step: number; total_steps: number };
      }>(`/v1/fine_tuning/jobs/${jobId}`, key)
    ).body;
    assert.equal(job.status, 'succeeded');
    assert.equal(job.fine_tuned_model, `ft:cola-tiny:acme:${jobId}`);
    assert.equal(job.progress.step, 16, '128 rows / batch 8');

    const adapter = await fetch(`${api.baseUrl}/v1/fine_tuning/jobs/${jobId}/adapter`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(adapter.status, 200);
    const header = safetensorsHeader(new Uint8Array(await adapter.arrayBuffer()));
    for (const layer of [0, 1]) {
      const base = `base_model.model.transformer.h.${layer}.attn.c_attn`;
      assert.deepEqual(header[`${base}.lora_A.weight`]?.shape, [4, 16]);
      assert.deepEqual(header[`${base}.lora_B.weight`]?.shape, [48, 4]);
    }
    assert.deepEqual(header['cola_aux.score.V']?.shape, [16, 2]);
    const config = await api.get<{ peft_type: string; r: number; target_modules: string[] }>(
      `/v1/fine_tuning/jobs/${jobId}/adapter/config`,
      key,
    );
    assert.deepEqual([config.body.peft_type, config.body.r, config.body.target_modules], ['LORA', 4, ['c_attn']]);

    const models = await api.get<{ data: { id: string }[] }>('/v1/models', key);
    assert.ok(models.body.data.some((m) => m.id === job.fine_tuned_model));
    // The merger serves a version once it has folded it in: wait for the final one.
    const head = await new AuxStateStore(stack.redis).head(jobId);
    let tuned = await accuracy(job.fine_tuned_model);
    for (let i = 0; tuned.version < head! && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      tuned = await accuracy(job.fine_tuned_model);
    }
    console.log(
      `held-out accuracy: base ${base.toFixed(3)}, fine-tuned through the API ${tuned.value.toFixed(3)} (aux v${tuned.version}); the job's own evaluation: ${JSON.stringify(job.result)}`,
    );
    assert.equal(tuned.version, head);
    assert.ok(tuned.value > base, `fine-tuned ${tuned.value} must beat the base model's ${base}`);
  });

  it('should stop a running job within a few steps when cancelled and free its queued data', async () => {
    const big = questionData(256, 2);
    const file = await api.upload<{ id: string }>(toJsonl(big.train), key, 'long.jsonl');
    // Many epochs and K = 4 fit tasks in flight: the job runs long and has payloads queued.
    const created = await api.post<{ id: string }>(
      '/v1/fine_tuning/jobs',
      {
        model: 'cola-tiny',
        training_file: file.body.id,
        method: { staleness: 4 },
        hyperparameters: { n_epochs: 50, batch_size: 8, max_length: MAX_LENGTH },
      },
      key,
    );
    const jobId = created.body.id;
    let job = (
      await api.get<{ status: string; progress: { step: number; total_steps: number } | null }>(`/v1/fine_tuning/jobs/${jobId}`, key)
    ).body;
    for (let i = 0; (job.status !== 'running' || (job.progress?.step ?? 0) < 4) && i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await api.get<typeof job>(`/v1/fine_tuning/jobs/${jobId}`, key)).body;
    }
    assert.equal(job.status, 'running');
    const cancel = await api.post<{ status: string; progress: { step: number } }>(`/v1/fine_tuning/jobs/${jobId}/cancel`, {}, key);
    assert.equal(cancel.status, 200);
    assert.ok(['cancelling', 'cancelled'].includes(cancel.body.status), cancel.body.status);
    const stepAtCancel = cancel.body.progress.step;
    const t0 = Date.now();
    assert.equal(await stack.waitForFinal(jobId, 60_000), 'cancelled');
    const stopMs = Date.now() - t0;
    const final = (await api.get<{ status: string; progress: { step: number; total_steps: number } }>(`/v1/fine_tuning/jobs/${jobId}`, key))
      .body;
    console.log(
      `cancel requested at step ${stepAtCancel}, stopped at step ${final.progress.step} of ${final.progress.total_steps}, ${stopMs} ms later`,
    );
    // The gpu-host sees the request at its next status poll (every 500 ms); meanwhile K = 4 fit
    // tasks in flight bound how far it can run ahead of the trainers.
    assert.ok(final.progress.step - stepAtCancel <= 16, `stopped ${final.progress.step - stepAtCancel} steps after the request`);
    assert.ok(stopMs < 5000, `stopped ${stopMs} ms after the request`);
    assert.ok(final.progress.step < final.progress.total_steps);
    // Queued payloads are deleted with the cancel; a fit task a trainer was already running
    // finishes and deletes its own payload a moment later.
    const pattern = `${keys.payload(jobId, 0).slice(0, -1)}*`;
    let payloads = await stack.redis.keys(pattern);
    for (let i = 0; payloads.length > 0 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      payloads = await stack.redis.keys(pattern);
    }
    assert.deepEqual(payloads, [], 'no adaptation payload of the job is left');
    const again = await api.post<ErrorShape>(`/v1/fine_tuning/jobs/${jobId}/cancel`, {}, key);
    assert.deepEqual([again.status, again.body.error.code], [409, 'job_not_cancellable']);
  });
});
