import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { ColaMetrics } from '@cola/metrics';
import { ByteTokenizer } from '@cola/data';
import { disposeDeltas, initBackend, tf } from '@cola/gl';
import {
  forward,
  generate,
  initClassificationHead,
  initGptModel,
  loadCheckpoint,
  makeTokenBatch,
  saveCheckpoint,
  type GptModel,
} from '@cola/model';
import {
  InferenceClient,
  type ClassifyResponse,
  type GenerateRequest,
  type GenerateResponse,
  type GenerateStreamResponse,
  type StatusResponse,
} from '@cola/proto';
import type { AuxStateStore } from '@cola/store';
import { useRedis } from '@cola/testing';
import type { JobStore } from '../jobs/job-store';
import { decodeJobAuxState } from '../state/job-aux-state';
import { AuxPublishedPublisher } from '../trainer/aux-published-publisher';
import { initJob, TEST_BASE_MODEL, TINY_D, tinyJob, type TinyJob } from '../trainer/test-fixtures';
import { MergerService } from './merger-service';
import type { ServedUpdate } from './served-deltas-updater';
import { trainerRig, type TrainerRig } from './test-rig';

/** The tiny base: byte vocabulary (256 + pad + eos), 2 layers of width 16. */
const TINY_GPT = { vocabSize: 258, nPositions: 32, nEmbd: TINY_D, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };
const TEXTS = ['Win a FREE cruise now!!!', 'Minutes of the Tuesday meeting', 'x'];

function call<Req, Res>(fn: (req: Req, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

// One top-level suite: node 20 runs file-level hooks once per top-level test, not once per file.
describe('the merger service', () => {
  const redis = useRedis();
  let dir: string;
  let conn: Redis;
  let aux: AuxStateStore;
  let jobs: JobStore;
  let publisher: AuxPublishedPublisher;
  let rig: TrainerRig;
  let merger: MergerService;
  let client: InferenceClient;
  let tensorsBefore: number;
  const registry = new Registry();

  /** GenerateStream calls the merger recorded with this outcome. */
  async function outcomes(outcome: string): Promise<number> {
    const m = (await registry.metrics()).match(
      new RegExp(`^cola_inference_seconds_count\\{[^}]*method="GenerateStream"[^}]*outcome="${outcome}"[^}]*\\} (\\d+)$`, 'm'),
    );
    return m ? Number(m[1]) : 0;
  }

  before(async () => {
    await initBackend();
    dir = await mkdtemp(join(tmpdir(), 'cola-merger-'));
    const base = initGptModel(TINY_GPT, { seed: 3 });
    await saveCheckpoint(join(dir, TEST_BASE_MODEL), base);
    base.dispose();
    conn = redis.client();
    publisher = new AuxPublishedPublisher(conn);
    rig = trainerRig(conn, publisher);
    ({ aux, jobs } = rig);
    tensorsBefore = tf.memory().numTensors;
    merger = new MergerService({
      redisUrl: redis.url,
      modelDir: join(dir, TEST_BASE_MODEL),
      grpcPort: 0,
      grpcHost: '127.0.0.1',
      metrics: ColaMetrics.of(registry),
    });
    const port = await merger.start();
    client = new InferenceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  after(async () => {
    client.close();
    await merger.close();
    rig.processor.close();
    await publisher.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => redis.flush());

  /** Trains `n` fit tasks with the real trainer processor and waits until the merger served the last. */
  async function trainAndServe(job: TinyJob, n: number): Promise<void> {
    const served = new Promise<void>((resolve) => {
      const on = (u: ServedUpdate): void => {
        if (u.jobId === job.jobId && u.version === n && u.status === 'served') {
          merger.off('updated', on);
          resolve();
        }
      };
      merger.on('updated', on);
    });
    await rig.train(job, 0, n);
    await served;
  }

  const modelName = (job: TinyJob): string => `ft:${TEST_BASE_MODEL}:${job.tenantId}:${job.jobId}`;

  /** The in-process reference model: the same checkpoint with the job's head, as finetune sets it up. */
  async function referenceModel(job: TinyJob): Promise<GptModel> {
    const m = await loadCheckpoint(join(dir, TEST_BASE_MODEL));
    if (job.task === 'classification') initClassificationHead(m, 2, { seed: job.seed });
    return m;
  }

  /** Softmax scores of an in-process forward with the job's version `v` (merged deltas or injection). */
  async function referenceScores(job: TinyJob, v: number, mode: 'merged' | 'inject'): Promise<number[][]> {
    const m = await referenceModel(job);
    const state = decodeJobAuxState(await aux.load(job.jobId, v), { paramsOnly: true });
    const tok = new ByteTokenizer();
    const batch = makeTokenBatch(
      TEXTS.map((t) => tok.encode(t).slice(0, TINY_GPT.nPositions)),
      { padId: tok.padId },
    );
    const deltas = mode === 'merged' ? state.adapters.deltas() : undefined;
    const probs = tf.tidy(() =>
      tf.softmax(forward(m, batch, { head: 'cls', deltas, inject: mode === 'inject' ? state.adapters.inject : undefined })),
    );
    const p = Array.from(probs.dataSync());
    probs.dispose();
    if (deltas) disposeDeltas(deltas);
    state.adapters.dispose();
    m.dispose();
    return TEXTS.map((_, r) => [p[2 * r]!, p[2 * r + 1]!]);
  }

  describe('when a mergeable job was trained', () => {
    it('should classify over real gRPC exactly like an in-process forward with W + dW', async () => {
      const job = tinyJob('job-cls');
      await initJob(job, aux, jobs);
      await trainAndServe(job, 3);
      const res = await call<{ model: string; texts: string[] }, ClassifyResponse>(client.classify.bind(client), {
        model: modelName(job),
        texts: TEXTS,
      });
      assert.equal(res.version, 3);
      assert.equal(res.model, modelName(job));
      const expected = await referenceScores(job, 3, 'merged');
      res.results.forEach((r, i) => {
        assert.deepEqual(
          r.scores.map((s) => s.label),
          ['ham', 'spam'],
        );
        assert.deepEqual(
          r.scores.map((s) => s.score),
          expected[i],
        );
        assert.equal(r.label, expected[i]![0]! >= expected[i]![1]! ? 'ham' : 'spam');
      });
      // The adapters moved the scores: the base head alone answers differently.
      const base = await referenceModel(job);
      const tok = new ByteTokenizer();
      const batch = makeTokenBatch(
        TEXTS.map((t) => tok.encode(t)),
        { padId: tok.padId },
      );
      const plain = tf.tidy(() => tf.softmax(forward(base, batch, { head: 'cls' })));
      assert.notDeepEqual(Array.from(plain.dataSync()), expected.flat());
      plain.dispose();
      base.dispose();
    });

    it('should list the model with its version in Status', async () => {
      const job = tinyJob('job-status', { tenantId: 'tenant-s' });
      await initJob(job, aux, jobs);
      await trainAndServe(job, 2);
      const res = await call<object, StatusResponse>(client.status.bind(client), {});
      const names = res.models.map((m) => m.name);
      assert.deepEqual(names, ['base', modelName(job)]);
      assert.deepEqual(
        { ...res.models[1]!, updatedAtMs: 0 },
        { name: modelName(job), baseModel: TEST_BASE_MODEL, version: 2, merged: true, mergeGroup: '', updatedAtMs: 0 },
      );
      assert.ok(res.models[1]!.updatedAtMs > 0);
    });
  });

  describe("when the job's aux is an mlp", () => {
    it('should classify exactly like an in-process forward with the injected g(X)', async () => {
      const job = tinyJob('job-mlp', { aux: 'mlp' });
      await initJob(job, aux, jobs);
      await trainAndServe(job, 2);
      const res = await call<{ model: string; texts: string[] }, ClassifyResponse>(client.classify.bind(client), {
        model: modelName(job),
        texts: TEXTS,
      });
      assert.equal(res.version, 2);
      const expected = await referenceScores(job, 2, 'inject');
      res.results.forEach((r, i) =>
        assert.deepEqual(
          r.scores.map((s) => s.score),
          expected[i],
        ),
      );
    });
  });

  describe('when a causal-LM job was trained', () => {
    it('should generate exactly what in-process generation with W + dW gives, greedy and seeded', async () => {
      const job = tinyJob('job-lm', { task: 'causal_lm' });
      await initJob(job, aux, jobs);
      await trainAndServe(job, 2);
      const m = await referenceModel(job);
      const state = decodeJobAuxState(await aux.load(job.jobId, 2), { paramsOnly: true });
      const deltas = state.adapters.deltas();
      const tok = new ByteTokenizer();
      for (const [temperature, seed] of [
        [0, 0],
        [1.5, 42],
      ] as const) {
        const res = await call<GenerateRequest, GenerateResponse>(client.generate.bind(client), {
          model: modelName(job),
          prompt: 'Call me',
          maxNewTokens: 12,
          temperature,
          seed,
        });
        const ids = generate(m, tok.encode('Call me'), { maxNewTokens: 12, temperature, seed, stopId: tok.eosId, deltas });
        assert.equal(res.text, tok.decode(ids));
        assert.equal(res.completionTokens, ids.length);
        assert.equal(res.version, 2);
        // GenerateStream: accepted first, then one message per token, spelling the same text.
        const streamed: GenerateStreamResponse[] = [];
        const req = { model: modelName(job), prompt: 'Call me', maxNewTokens: 12, temperature, seed };
        for await (const msg of client.generateStream(req)) streamed.push(msg as GenerateStreamResponse);
        assert.deepEqual(streamed[0], { model: modelName(job), version: 2, text: '', completionTokens: 0 });
        assert.deepEqual(
          streamed.slice(1, 1 + ids.length).map((x) => x.completionTokens),
          ids.map((_, i) => i + 1),
        );
        // A text that ends inside a multi-byte character (a random model's bytes) gets one more message.
        const rest = streamed.slice(1 + ids.length);
        assert.ok(rest.length === 0 || (rest.length === 1 && /^\uFFFD+$/.test(rest[0]!.text)), JSON.stringify(rest));
        assert.equal(streamed.map((x) => x.text).join(''), res.text);
      }
      disposeDeltas(deltas);
      state.adapters.dispose();
      m.dispose();
    });
  });

  describe('when the caller of a GenerateStream goes away', () => {
    it('should stop generating at once and release the model', async () => {
      const cancelledBefore = await outcomes('cancelled');
      const stream = client.generateStream({ model: 'base', prompt: 'Call me', maxNewTokens: 500, temperature: 1, seed: 5 });
      const got: GenerateStreamResponse[] = [];
      const ended = new Promise<void>((resolve) => {
        stream.on('data', (msg: GenerateStreamResponse) => {
          got.push(msg);
          if (got.length === 4) stream.cancel();
        });
        stream.on('error', () => resolve());
        stream.on('end', () => resolve());
      });
      await ended;
      // The handler notices the cancellation between two tokens and records it.
      for (let i = 0; i < 100 && (await outcomes('cancelled')) === cancelledBefore; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await outcomes('cancelled'), cancelledBefore + 1, 'the generation ended as cancelled');
      assert.ok(got.length >= 4 && got.at(-1)!.completionTokens < 500, `stopped after ${got.at(-1)!.completionTokens} tokens`);
      // Nothing is left running: the next call is answered as usual.
      const res = await call<GenerateRequest, GenerateResponse>(client.generate.bind(client), {
        model: 'base',
        prompt: 'a',
        maxNewTokens: 2,
        temperature: 0,
        seed: 0,
      });
      assert.ok(res.completionTokens >= 1);
    });

    it('should refuse a bad request with its status before sending anything', async () => {
      const got: GenerateStreamResponse[] = [];
      await assert.rejects(
        (async () => {
          for await (const m of client.generateStream({ model: 'base', prompt: 'a', maxNewTokens: 100_000, temperature: 0, seed: 0 }))
            got.push(m as GenerateStreamResponse);
        })(),
        (e: ServiceError) => e.code === GrpcStatus.INVALID_ARGUMENT && /max_new_tokens must be from 0/.test(e.details),
      );
      assert.deepEqual(got, []);
    });
  });

  describe('when jobs share a merge group', () => {
    it("should serve each member with W + the mean of its own tenant's members' deltas", async () => {
      const a = tinyJob('job-ga', { mergeGroup: 'team' });
      const b = tinyJob('job-gb', { mergeGroup: 'team' });
      // Another tenant naming its group 'team' has a group of its own: its delta must not join the mean.
      const c = tinyJob('job-gc', { mergeGroup: 'team', tenantId: 'tenant-b', seed: 9 });
      await initJob(a, aux, jobs);
      await initJob(b, aux, jobs);
      await initJob(c, aux, jobs);
      await trainAndServe(a, 2);
      await trainAndServe(b, 1);
      await trainAndServe(c, 2);
      const res = await call<{ model: string; texts: string[] }, ClassifyResponse>(client.classify.bind(client), {
        model: modelName(a),
        texts: TEXTS,
      });
      const m = await referenceModel(a);
      const sa = decodeJobAuxState(await aux.load(a.jobId, 2), { paramsOnly: true });
      const sb = decodeJobAuxState(await aux.load(b.jobId, 1), { paramsOnly: true });
      const da = sa.adapters.deltas();
      const db = sb.adapters.deltas();
      const mean = new Map(
        [...da].map(([tap, d]) => {
          const o = db.get(tap)!;
          return [
            tap,
            {
              dW: tf.tidy(() => tf.div(tf.addN([d.dW, o.dW]), 2)) as tf.Tensor2D,
              db: d.db ? (tf.tidy(() => tf.div(tf.addN([d.db!, o.db!]), 2)) as tf.Tensor1D) : undefined,
            },
          ];
        }),
      );
      const tok = new ByteTokenizer();
      const batch = makeTokenBatch(
        TEXTS.map((t) => tok.encode(t)),
        { padId: tok.padId },
      );
      const probs = tf.tidy(() => tf.softmax(forward(m, batch, { head: 'cls', deltas: mean })));
      const p = Array.from(probs.dataSync());
      res.results.forEach((r, i) =>
        assert.deepEqual(
          r.scores.map((s) => s.score),
          [p[2 * i], p[2 * i + 1]],
        ),
      );
      tf.dispose(probs);
      for (const d of [da, db, mean]) disposeDeltas(d);
      sa.adapters.dispose();
      sb.adapters.dispose();
      m.dispose();
    });
  });

  describe('when a request names no served model or bad input', () => {
    it('should answer NOT_FOUND, INVALID_ARGUMENT or FAILED_PRECONDITION with a readable message', async () => {
      const job = tinyJob('job-err');
      await initJob(job, aux, jobs);
      const classify = (model: string, texts = ['hi']) => call(client.classify.bind(client), { model, texts });
      const expectCode = async (p: Promise<unknown>, code: GrpcStatus, msg: RegExp): Promise<void> => {
        await assert.rejects(p, (e: unknown) => {
          assert.equal((e as ServiceError).code, code);
          assert.match((e as ServiceError).details, msg);
          return true;
        });
      };
      await expectCode(classify(`ft:${TEST_BASE_MODEL}:tenant-a:job-none`), GrpcStatus.NOT_FOUND, /does not exist/);
      await expectCode(classify(`ft:${TEST_BASE_MODEL}:tenant-other:job-err`), GrpcStatus.NOT_FOUND, /does not exist/);
      await expectCode(classify('ft:other-base:tenant-a:job-err'), GrpcStatus.NOT_FOUND, /does not exist/);
      await expectCode(classify('gpt-4'), GrpcStatus.INVALID_ARGUMENT, /"base" or "ft:<base>:<tenant>:<job>"/);
      await expectCode(classify(modelName(job), ['']), GrpcStatus.INVALID_ARGUMENT, /texts\[0\] is empty/);
      await expectCode(classify('base'), GrpcStatus.FAILED_PRECONDITION, /language model with no classifier head/);
      await expectCode(
        call(client.generate.bind(client), { model: modelName(job), prompt: 'a', maxNewTokens: 1, temperature: 0, seed: 0 }),
        GrpcStatus.FAILED_PRECONDITION,
        /classification model; use Classify/,
      );
      // A job with nothing published yet is served at version 0 (every aux starts as g = 0).
      const v0 = await call<{ model: string; texts: string[] }, ClassifyResponse>(client.classify.bind(client), {
        model: modelName(job),
        texts: ['hi'],
      });
      assert.equal(v0.version, 0);
    });
  });

  describe('when the service closes', () => {
    it('should free every tensor it created', async () => {
      // Runs last: the service is closed here (after() closing it again is a no-op). The trainer
      // side of this file caches job states too; free those to count the merger's alone.
      await merger.close();
      rig.processor.close();
      assert.equal(merger.running, false);
      assert.equal(tf.memory().numTensors, tensorsBefore);
    });
  });
});
