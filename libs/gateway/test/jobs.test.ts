import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { jobIds, QUEUES, queueOptions } from '@cola/config';
import { decodeSafetensors, toFloat32 } from '@cola/gl';
import { JobStore, validateJobSpec, driveJobTo } from '@cola/pipeline';
import { useRedis } from '@cola/testing';
import type { ErrorShape } from './support/gateway-client';
import { HEAD_LAYER, LOWRANK_LAYER, writeTestAuxState } from './support/aux-state';
import { SMALL_TRAIN, startTestGateway, type TestGateway } from './support/gateway-fixture';

interface JobBody {
  id: string;
  object: string;
  status: string;
  model: string;
  task: string;
  seed: number;
  fine_tuned_model: string | null;
  organization_id: string;
  labels: string[] | null;
  hyperparameters: {
    n_epochs: number | 'auto';
    batch_size: number | 'auto';
    learning_rate: number;
    optimizer: string;
    weight_decay: number;
    max_length: number | 'auto';
    max_windows: number | 'auto';
    warmup_fraction: number;
  };
  dropped_token_share: number | null;
  method: {
    aux: Record<string, unknown>;
    target_modules: string[];
    merged: boolean;
    interval: number;
    staleness: number;
    transfer: { mode: string; dtype: string };
    merge_group: string | null;
  };
  progress: { step: number; total_steps: number; loss: number; bytes_transferred: number } | null;
  result: { metric: string; value: number; count: number } | null;
  error: ErrorShape['error'] | null;
}

interface EventBody {
  id: string;
  message: string;
  type: string;
  level: string;
  data: Record<string, number> | null;
}

/** Reads an SSE response to its end; returns the `data:` payloads of message events and the `done` payload. */
async function readSse(res: Response): Promise<{ events: EventBody[]; ids: string[]; done: unknown }> {
  const text = await res.text();
  const events: EventBody[] = [];
  const ids: string[] = [];
  let done: unknown;
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n');
    const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
    const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
    const id = lines.find((l) => l.startsWith('id: '))?.slice(4);
    if (!data) continue;
    if (event === 'done') done = JSON.parse(data);
    else {
      events.push(JSON.parse(data) as EventBody);
      if (id) ids.push(id);
    }
  }
  return { events, ids, done };
}

describe('when fine-tuning jobs are created and followed (no gpu-host running)', () => {
  const redis = useRedis();
  let gw: TestGateway;
  let key: string;
  let train: string;
  let store: JobStore;
  let queue: Queue;

  before(async () => {
    gw = await startTestGateway(redis);
    key = await gw.tenant('acme');
    train = (await gw.api.upload<{ id: string }>(SMALL_TRAIN, key)).body.id;
    store = new JobStore(redis.client());
    queue = new Queue(QUEUES.jobs, { connection: redis.client(), ...queueOptions(QUEUES.jobs) });
  });
  after(async () => {
    await queue.close();
    await gw.close();
  });

  it('should queue a job with every auto resolved, and hand it to the gpu-host queue', async () => {
    const res = await gw.api.post<JobBody>(
      '/v1/fine_tuning/jobs',
      { model: 'cola-tiny', training_file: train, validation_file: train, seed: 42 },
      key,
    );
    assert.equal(res.status, 200, res.text);
    const j = res.body;
    assert.match(j.id, /^ftjob-[A-Za-z0-9]{24}$/);
    assert.deepEqual(
      [j.object, j.status, j.model, j.task, j.seed, j.fine_tuned_model, j.organization_id],
      ['fine_tuning.job', 'queued', 'cola-tiny', 'classification', 42, null, 'acme'],
    );
    assert.deepEqual(j.labels, ['ham', 'spam']);
    // Values chosen from the data stay `auto` until the gpu-host opens the job; the rest are the pipeline's defaults.
    const rec = await store.get(j.id);
    const v = validateJobSpec(rec!.spec);
    assert.deepEqual(j.hyperparameters, {
      n_epochs: 'auto',
      batch_size: 'auto',
      learning_rate: 'auto',
      optimizer: 'adamw',
      weight_decay: v.options.optimizer.weightDecay,
      max_length: 'auto',
      max_windows: 'auto',
      warmup_fraction: v.options.warmupFraction,
    });
    assert.equal(j.dropped_token_share, null);
    // What the gpu-host records when it opens the job (host-service tests cover its side) is what the API shows.
    await store.setResolved(j.id, { lr: 0.01, epochs: 6, batchSize: 16, maxLength: 112, maxWindows: 3, droppedShare: 0.042 });
    const opened = (await gw.api.get<JobBody>(`/v1/fine_tuning/jobs/${j.id}`, key)).body;
    assert.deepEqual(
      [
        opened.hyperparameters.n_epochs,
        opened.hyperparameters.batch_size,
        opened.hyperparameters.learning_rate,
        opened.hyperparameters.max_length,
        opened.hyperparameters.max_windows,
        opened.dropped_token_share,
      ],
      [6, 16, 0.01, 112, 3, 0.042],
    );
    assert.deepEqual(
      [j.method.aux.type, j.method.target_modules, j.method.interval, j.method.staleness, j.method.transfer.mode],
      // Transfer `auto` stays auto until the gpu-host picks the smaller encoding from the layer shapes.
      ['lowrank', ['c_attn', 'score'], 1, 1, 'auto'],
    );
    const queued = await queue.getJob(jobIds.job(j.id));
    assert.deepEqual(queued?.data, { jobId: j.id });
  });

  it('should carry the method and hyperparameters the tenant chose into the spec', async () => {
    const res = await gw.api.post<JobBody>(
      '/v1/fine_tuning/jobs',
      {
        model: 'cola-tiny',
        training_file: train,
        task: 'classification',
        method: {
          aux: { type: 'linear', bias: true },
          target_modules: ['c_attn', 'mlp.c_fc', 'score'],
          merged: true,
          interval: 4,
          staleness: 2,
          transfer: { mode: 'gram', dtype: 'bf16' },
          merge_group: 'team-a',
        },
        hyperparameters: {
          n_epochs: 3,
          batch_size: 8,
          learning_rate_multiplier: 2,
          optimizer: 'sgd',
          momentum: 0.9,
          max_length: 64,
          warmup_fraction: 0.1,
        },
      },
      key,
    );
    assert.equal(res.status, 200, res.text);
    const j = res.body;
    assert.deepEqual(j.method.aux, { type: 'linear', bias: true });
    assert.deepEqual(
      [j.method.target_modules, j.method.merged, j.method.interval, j.method.staleness, j.method.transfer, j.method.merge_group],
      [['c_attn', 'mlp.c_fc', 'score'], true, 4, 2, { mode: 'gram', dtype: 'bf16' }, 'team-a'],
    );
    assert.deepEqual(
      [
        j.hyperparameters.n_epochs,
        j.hyperparameters.batch_size,
        j.hyperparameters.optimizer,
        j.hyperparameters.max_length,
        j.hyperparameters.warmup_fraction,
      ],
      [3, 8, 'sgd', 64, 0.1],
    );
    assert.ok(Math.abs(j.hyperparameters.learning_rate - 2e-3) < 1e-12, `lr ${j.hyperparameters.learning_rate} = 2 × the SGD default 1e-3`);
    const spec = (await store.get(j.id))!.spec;
    assert.equal(spec.hyperparameters?.optimizer?.kind?.$case, 'sgd');
  });

  it('should page jobs newest first and cancel a queued job at once', async () => {
    const other = await gw.tenant('pager');
    const file = (await gw.api.upload<{ id: string }>(SMALL_TRAIN, other)).body.id;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await gw.api.post<JobBody>('/v1/fine_tuning/jobs', { model: 'cola-tiny', training_file: file }, other)).body.id);
    const p1 = await gw.api.get<{ data: JobBody[]; has_more: boolean; last_id: string }>('/v1/fine_tuning/jobs?limit=2', other);
    assert.deepEqual([p1.body.data.map((j) => j.id), p1.body.has_more], [[ids[2], ids[1]], true]);
    const p2 = await gw.api.get<{ data: JobBody[]; has_more: boolean }>(`/v1/fine_tuning/jobs?limit=2&after=${p1.body.last_id}`, other);
    assert.deepEqual([p2.body.data.map((j) => j.id), p2.body.has_more], [[ids[0]], false]);

    const cancelled = await gw.api.post<JobBody>(`/v1/fine_tuning/jobs/${ids[0]}/cancel`, {}, other);
    assert.deepEqual([cancelled.status, cancelled.body.status], [200, 'cancelled']);
    assert.equal(await queue.getJob(jobIds.job(ids[0]!)), undefined, 'taken out of the gpu-host queue');
    const again = await gw.api.post<ErrorShape>(`/v1/fine_tuning/jobs/${ids[0]}/cancel`, {}, other);
    assert.deepEqual([again.status, again.body.error.code], [409, 'job_not_cancellable']);
  });

  it('should ask the gpu-host to stop a running job (cancelling)', async () => {
    const id = (await gw.api.post<JobBody>('/v1/fine_tuning/jobs', { model: 'cola-tiny', training_file: train }, key)).body.id;
    await driveJobTo(store, id, 'running');
    const res = await gw.api.post<JobBody>(`/v1/fine_tuning/jobs/${id}/cancel`, {}, key);
    assert.deepEqual([res.status, res.body.status], [200, 'cancelling']);
    assert.equal(await store.status(id), 'cancelling');
    const twice = await gw.api.post<JobBody>(`/v1/fine_tuning/jobs/${id}/cancel`, {}, key);
    assert.deepEqual([twice.status, twice.body.status], [200, 'cancelling'], 'idempotent while it stops');
  });

  it('should page events and stream them until the job ends, resuming from Last-Event-ID', async () => {
    const id = (await gw.api.post<JobBody>('/v1/fine_tuning/jobs', { model: 'cola-tiny', training_file: train }, key)).body.id;
    await driveJobTo(store, id, 'running');
    for (let i = 1; i <= 3; i++)
      await store.appendEvent(id, {
        level: 'info',
        message: `step ${i}`,
        metrics: { step: i, loss: 1 / i, tokens: 100 * i, bytes: 1000 * i },
      });
    const page1 = await gw.api.get<{ data: EventBody[]; has_more: boolean; last_id: string }>(
      `/v1/fine_tuning/jobs/${id}/events?limit=2`,
      key,
    );
    assert.deepEqual(
      page1.body.data.map((e) => e.message),
      ['step 1', 'step 2'],
    );
    assert.equal(page1.body.has_more, true);
    assert.deepEqual(page1.body.data[0]!.data, { step: 1, loss: 1, tokens: 100, bytes: 1000 });
    assert.equal(page1.body.data[0]!.type, 'metrics');

    // A stream opened while the job runs gets the backlog, then live events, then the end.
    const ctrl = new AbortController();
    const res = await fetch(`${gw.api.baseUrl}/v1/fine_tuning/jobs/${id}/events?after=${page1.body.last_id}`, {
      headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
      signal: ctrl.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reading = readSse(res);
    await store.appendEvent(id, { level: 'info', message: 'step 4', metrics: { step: 4, loss: 0.25 } });
    await driveJobTo(store, id, 'succeeded');
    await store.appendEvent(id, { level: 'info', message: 'Job succeeded' });
    const { events, ids, done } = await reading;
    assert.deepEqual(
      events.map((e) => e.message),
      ['step 3', 'step 4', 'Job succeeded'],
    );
    assert.deepEqual(done, { status: 'succeeded' });
    assert.deepEqual(
      ids,
      events.map((e) => e.id),
    );

    const resumed = await fetch(`${gw.api.baseUrl}/v1/fine_tuning/jobs/${id}/events?stream=true`, {
      headers: { authorization: `Bearer ${key}`, 'last-event-id': ids[0]! },
    });
    assert.deepEqual(
      (await readSse(resumed)).events.map((e) => e.message),
      ['step 4', 'Job succeeded'],
    );
  });

  it('should list checkpoints and export the adapter with PEFT names, transposed, plus its config', async () => {
    const id = (await gw.api.post<JobBody>('/v1/fine_tuning/jobs', { model: 'cola-tiny', training_file: train }, key)).body.id;
    const values = await writeTestAuxState(redis.client(), id, 7);
    const ckpts = await gw.api.get<{ data: { id: string; step_number: number; fine_tuned_model_checkpoint: string }[] }>(
      `/v1/fine_tuning/jobs/${id}/checkpoints`,
      key,
    );
    assert.deepEqual(
      ckpts.body.data.map((c) => [c.id, c.step_number, c.fine_tuned_model_checkpoint]),
      [['ftckpt-7', 7, `ft:cola-tiny:acme:${id}:ckpt-step-7`]],
    );

    for (const query of ['', '?checkpoint=ftckpt-7']) {
      const res = await fetch(`${gw.api.baseUrl}/v1/fine_tuning/jobs/${id}/adapter${query}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-disposition') ?? '', /adapter_model\.safetensors/);
      const st = decodeSafetensors(new Uint8Array(await res.arrayBuffer()));
      const lowrank = LOWRANK_LAYER;
      const head = HEAD_LAYER;
      const r = lowrank.aux.rank;
      const base = 'base_model.model.transformer.h.0.attn.c_attn';
      assert.deepEqual(Object.keys(st.tensors).sort(), [
        `${base}.lora_A.weight`,
        `${base}.lora_B.weight`,
        'cola_aux.score.V',
        'cola_aux.score.b',
      ]);
      const loraA = st.tensors[`${base}.lora_A.weight`]!;
      const loraB = st.tensors[`${base}.lora_B.weight`]!;
      assert.deepEqual(
        [loraA.shape, loraB.shape],
        [
          [r, lowrank.dIn],
          [lowrank.dOut, r],
        ],
      );
      // Our A is [in, r]: PEFT's lora_A.weight[j][i] = A[i][j]; likewise B [r, out] → [out, r].
      const A = values.get('h.0.attn.c_attn/A')!;
      const B = values.get('h.0.attn.c_attn/B')!;
      const a = toFloat32(loraA);
      const b = toFloat32(loraB);
      for (let i = 0; i < lowrank.dIn; i++) for (let j = 0; j < r; j++) assert.equal(a[j * lowrank.dIn + i], A[i * r + j]);
      for (let i = 0; i < r; i++) for (let j = 0; j < lowrank.dOut; j++) assert.equal(b[j * r + i], B[i * lowrank.dOut + j]);
      assert.deepEqual(st.tensors['cola_aux.score.V']!.shape, [head.dIn, head.dOut]);
      assert.deepEqual([...toFloat32(st.tensors['cola_aux.score.b']!)], [...values.get('score/b')!]);
      assert.equal(st.metadata.format, 'pt');
    }
    const cfg = await gw.api.get<{
      peft_type: string;
      r: number;
      lora_alpha: number;
      target_modules: string[];
      fan_in_fan_out: boolean;
      task_type: string;
      base_model_name_or_path: string;
      cola: { layers: { tap: string; type: string }[]; labels: string[] };
    }>(`/v1/fine_tuning/jobs/${id}/adapter/config`, key);
    assert.equal(cfg.status, 200);
    assert.deepEqual(
      [
        cfg.body.peft_type,
        cfg.body.r,
        cfg.body.lora_alpha,
        cfg.body.target_modules,
        cfg.body.fan_in_fan_out,
        cfg.body.task_type,
        cfg.body.base_model_name_or_path,
      ],
      ['LORA', 4, 8, ['c_attn'], true, 'SEQ_CLS', 'cola-tiny'],
    );
    assert.deepEqual(
      cfg.body.cola.layers.map((l) => [l.tap, l.type]),
      [
        ['h.0.attn.c_attn', 'lowrank'],
        ['score', 'linear'],
      ],
    );
    assert.deepEqual(cfg.body.cola.labels, ['ham', 'spam']);
    const noCkpt = await gw.api.get<ErrorShape>(`/v1/fine_tuning/jobs/${id}/adapter?checkpoint=ftckpt-8`, key);
    assert.deepEqual([noCkpt.status, noCkpt.body.error.code, noCkpt.body.error.param], [404, 'not_found', 'checkpoint']);
  });
});
