/**
 * Many tenants under a small gpu-host memory budget, on the real pipeline: a private Redis, two
 * aux-trainers and a merger as child processes, and the gpu-host in this process so that its
 * backend heap (the wasm linear memory, which only grows: its high-water mark) is the host's alone
 * and tensor buffers (its exact allocator count) can be read directly. The budget is small enough that one tenant's batch does not fit in one
 * pass: every step runs in row chunks and the jobs share the host.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENV, METRICS } from '@cola/config';
import { initBackend, tf } from '@cola/gl';
import { initGptModel, loadCheckpoint, resolveTaps, saveCheckpoint, type GptConfig, type GptModel } from '@cola/model';
import { HostService } from '@cola/pipeline';
import { ColaMetrics } from '@cola/metrics';
import { Registry } from 'prom-client';
import { useRedis, freePort } from '@cola/testing';
import { PipelineStack, removeDir } from '@cola/devstack';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobFiles, jobSpec, LOWRANK, spamSample, type TestJob } from '../support/pipeline-fixtures';

const redis = useRedis();

/** cola-tiny's width at a short context: wide enough that a batch's host step outgrows the budget. */
const CONFIG: GptConfig = { vocabSize: 258, nPositions: 64, nEmbd: 128, nLayer: 4, nHead: 4, layerNormEpsilon: 1e-5 };
const BUDGET_MB = 64;
const TENANTS = 8;
const BATCH = 16;
const MAX_LENGTH = 64;

describe('when eight tenants train at once on a gpu-host with a small memory budget', () => {
  let stack: PipelineStack;
  let modelDir: string;
  let model: GptModel;
  let host: HostService;
  const registry = new Registry();

  before(async () => {
    await redis.whenReady();
    await initBackend({ log: null });
    modelDir = mkdtempSync(join(tmpdir(), 'cola-budget-'));
    const seeded = initGptModel(CONFIG, { seed: 5 });
    await saveCheckpoint(modelDir, seeded);
    seeded.dispose();
    model = await loadCheckpoint(modelDir);
    stack = new PipelineStack({ redisUrl: redis.url, modelDir, quiet: true });
    const grpcPort = await freePort();
    await Promise.all([
      stack.start('aux-trainer-1', 'aux-trainer'),
      stack.start('aux-trainer-2', 'aux-trainer'),
      stack.start('merger', 'merger', { [ENV.MERGER_GRPC_PORT]: String(grpcPort) }),
    ]);
    host = new HostService({
      redisUrl: redis.url,
      model,
      memoryBudgetMb: BUDGET_MB,
      maxActiveJobs: TENANTS,
      maxTenantsPerBatch: TENANTS,
      pollMs: 100,
      log: () => undefined,
      metrics: ColaMetrics.of(registry),
    });
    await host.start();
  });

  after(async () => {
    await host?.close();
    await stack?.stop();
    model?.dispose();
    if (modelDir) removeDir(modelDir);
  });

  it('should complete every job while the host backend stays under the budget', async () => {
    const budgetBytes = BUDGET_MB * 2 ** 20;
    assert.equal(tf.getBackend(), 'wasm', 'the heap high-water mark is read from the wasm backend');
    const taps = resolveTaps(model.config, ['c_attn']);
    const perRow = await host.memory.bytesPerRow('lm', MAX_LENGTH, taps);
    assert.ok(perRow * BATCH > budgetBytes, `one batch in one pass (${(perRow * BATCH) / 2 ** 20} MiB) would not fit the budget`);
    const data = spamSample(BATCH, 8);
    const jobs: TestJob[] = Array.from({ length: TENANTS }, (_, i) => ({
      jobId: `job-budget-${i}`,
      tenantId: `tenant-${i}`,
      aux: LOWRANK,
      batchSize: BATCH,
      maxLength: MAX_LENGTH,
      lr: 5e-3,
      seed: 30 + i,
    }));
    const t0 = performance.now();
    await Promise.all(jobs.map((j) => stack.submit(jobSpec(j, data.labels), jobFiles(j, data))));
    const statuses = await Promise.all(jobs.map((j) => stack.waitForFinal(j.jobId, 600_000)));
    const seconds = (performance.now() - t0) / 1000;
    const errors = await Promise.all(jobs.map(async (j) => (await stack.jobs.get(j.jobId))?.error));
    assert.deepEqual(statuses, Array(TENANTS).fill('succeeded'), `errors: ${JSON.stringify(errors)}`);
    for (const j of jobs) assert.equal((await stack.jobs.progress(j.jobId))?.step, 1, `${j.jobId}: one batch of ${BATCH}`);

    const heap = host.memory.backendHeapBytes()!;
    const tensors = host.memory.peakBytes()!;
    const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
    console.log(
      `${TENANTS} tenants in ${seconds.toFixed(1)} s: host backend heap ${mib(heap)}, tensor buffers at most ${mib(tensors)} ` +
        `(budget ${BUDGET_MB} MiB; one batch in one pass would take ${mib(perRow * BATCH)} of tensors)`,
    );
    assert.ok(tensors <= budgetBytes, `tensor buffers peaked at ${mib(tensors)}, over the ${BUDGET_MB} MiB budget`);
    assert.ok(heap <= budgetBytes, `backend heap ${mib(heap)} over the ${BUDGET_MB} MiB budget`);
    // What Prometheus scrapes is the same heap.
    const scraped = (await registry.getSingleMetric(METRICS.hostBackendBytes.name)!.get()).values;
    assert.equal(scraped.find((v) => v.labels.kind === 'heap')?.value, heap);
  });
});
