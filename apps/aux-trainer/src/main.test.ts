import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { BULLMQ_PREFIX, ENV, jobIds, keys, QUEUES, queueOptions, TTLS } from '@cola/config';
import { AdapterSet, initBackend, tf, type AdaptationData } from '@cola/gl';
import { JobSpec } from '@cola/proto';
import { AuxStateStore, TensorStore } from '@cola/store';
import { assertEnvRefused, freePort, ServiceProcess, useRedis } from '@cola/testing';
import { encodeAdaptation, encodeJobAuxState, JobStore, type AdaptTaskData, type FitTaskOutcome } from '@cola/pipeline';

// One top-level suite: node 20 runs file-level hooks once per top-level test, not once per file.
describe('the aux-trainer process', () => {
  const redis = useRedis();

  before(() => initBackend({ log: null }));

  describe('when its environment is invalid', () => {
    it('should exit 1 and list every problem with its fix', () =>
      assertEnvRefused('aux-trainer', { [ENV.REDIS_URL]: 'http://localhost', [ENV.AUX_TRAINER_CONCURRENCY]: '0' }, [
        /REDIS_URL="http:\/\/localhost" is invalid: use a URL starting with redis:\/\//,
        /AUX_TRAINER_CONCURRENCY="0" is invalid: use an integer between 1 and 64/,
      ]));
  });

  describe('when it runs and gets SIGTERM', () => {
    let trainer: ServiceProcess | undefined;
    after(() => trainer?.kill());

    it('should apply queued fit tasks, answer /healthz, and exit 0', async () => {
      const port = await freePort();
      trainer = new ServiceProcess({
        name: 'aux-trainer',
        app: 'aux-trainer',
        env: { [ENV.REDIS_URL]: redis.url, [ENV.METRICS_PORT]: String(port), [ENV.LOG_LEVEL]: 'warn' },
        healthUrl: `http://127.0.0.1:${port}/healthz`,
        log: () => undefined,
      });
      await trainer.start();

      // A one-layer job at version 0 and two fit tasks, as the gpu-host would publish them.
      const conn = redis.client();
      const jobId = 'job-app';
      const adapters = AdapterSet.create({
        layers: [{ tap: 'score', dIn: 8, dOut: 2, aux: { type: 'linear', bias: true } }],
        optimizer: { type: 'adamw', lr: 0.01 },
        seed: 1,
      });
      const meta = { jobId, version: 0, schedule: { peakLr: 0.01, totalSteps: 2, warmupSteps: 0 } };
      await new AuxStateStore(conn).init(jobId, encodeJobAuxState(adapters, meta));
      adapters.dispose();
      await new JobStore(conn).create(JobSpec.fromPartial({ jobId, tenantId: 'tenant-a' }));
      const blocking = new Redis(redis.url, { maxRetriesPerRequest: null });
      const events = new QueueEvents(QUEUES.adapt, { connection: blocking, prefix: BULLMQ_PREFIX });
      await events.waitUntilReady();
      const adapt = new Queue<AdaptTaskData>(QUEUES.adapt, { connection: conn, ...queueOptions(QUEUES.adapt) });
      const payloads = new TensorStore(conn);
      for (let seq = 0; seq < 2; seq++) {
        const layers = new Map<string, AdaptationData>([
          [
            'score',
            { kind: 'raw', x: tf.randomNormal([4, 8], 0, 1, 'float32', seq), g: tf.randomNormal([4, 2], 0, 0.1, 'float32', seq + 9) },
          ],
        ]);
        const bytes = encodeAdaptation({ jobId, tenantId: 'tenant-a', seq, auxVersion: seq, numBatches: 1, tokens: 4, loss: 1 }, layers, {
          mode: 'activations',
          dtype: 'fp32',
        });
        for (const d of layers.values()) if (d.kind === 'raw') tf.dispose([d.x, d.g]);
        const ref = await payloads.put(keys.payload(jobId, seq), bytes, TTLS.payloadSeconds);
        await adapt.add(
          'adapt',
          { jobId, tenantId: 'tenant-a', seq, auxVersion: seq, payloadKey: ref.key, size: ref.size, sha256: ref.sha256 },
          { jobId: jobIds.adapt(jobId, seq) },
        );
      }
      const last = (await adapt.getJob(jobIds.adapt(jobId, 1)))!;
      const outcome = (await last.waitUntilFinished(events, 60_000)) as FitTaskOutcome;
      assert.deepEqual([outcome.status, outcome.seq, outcome.version, outcome.cacheHit], ['committed', 1, 2, true]);
      assert.equal(await new AuxStateStore(conn).head(jobId), 2);
      await events.close();
      await blocking.quit();
      await adapt.close();

      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { running: boolean }).running, true);
      assert.equal(await trainer.stop('SIGTERM'), 0);
    });
  });
});
