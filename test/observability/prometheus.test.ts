/**
 * A REAL Prometheus (Debian's package; installed by the set-up when missing and root) scrapes a
 * running stack — gpu-host, aux-trainer and merger as child processes on a real Redis — every
 * second while a small job runs, with our alert rules loaded. Then its HTTP API must show every
 * cola_ series, counters that grew, and data for every dashboard and alert expression. Only the
 * redis_exporter series (Redis memory, evictions) are skipped: no exporter runs in the test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { credentials } from '@grpc/grpc-js';
import { ENV, METRICS, seriesNames, type MetricSpec } from '@cola/config';
import { initBackend } from '@cola/gl';
import { InferenceClient, type GenerateResponse } from '@cola/proto';
import { useRedis } from '@cola/testing';
import { PipelineStack, removeDir, writeTinyCheckpoint } from '@cola/devstack';
import { jobFiles, jobSpec, LOWRANK, spamSample, type TestJob } from '../support/pipeline-fixtures';
import { alertExprs, alertSignals, dashboardExprs, FILES, needsRedisExporter } from './support/observability-files';
import { PrometheusServer } from './support/prometheus-server';

const redis = useRedis();
/** Rows of the training job; COLA_OBS_ROWS makes a longer run for docs/communication-overhead.png. */
const ROWS = Number(process.env.COLA_OBS_ROWS ?? 48);

describe('when a real Prometheus scrapes the stack during a job', () => {
  let stack: PipelineStack;
  let prom: PrometheusServer;
  let modelDir: string;
  let startSec = 0;
  const before0: Record<string, number> = {};

  const metricsPort = (name: string): string => {
    const port = stack.services.get(name)?.opts.env?.[ENV.METRICS_PORT];
    assert.ok(port, `${name} has a metrics port`);
    return `127.0.0.1:${port}`;
  };

  before(async () => {
    await redis.whenReady();
    await initBackend({ log: null });
    modelDir = await writeTinyCheckpoint(1);
    stack = new PipelineStack({ redisUrl: redis.url, modelDir });
    await stack.startAll(1);
    prom = await PrometheusServer.start({
      targets: { 'gpu-host': [metricsPort('gpu-host')], 'aux-trainer': [metricsPort('aux-trainer-1')], merger: [metricsPort('merger')] },
      ruleFiles: [FILES.alerts],
    });
    await prom.until('every target up', async () => (await prom.query('up == 1')).length === 3);
    startSec = Date.now() / 1000;
    before0.written = await prom.value('sum(cola_transfer_written_bytes_total)');
    before0.batches = await prom.value('sum(cola_host_batches_total)');
  });

  after(async () => {
    await prom?.stop();
    await stack?.stop();
    if (modelDir) removeDir(modelDir);
  });

  it('should load the alert rules and scrape all three services', async () => {
    const rules = await prom.api<{ groups: { rules: unknown[] }[] }>('rules');
    assert.equal(rules.status, 'success');
    assert.equal(
      rules.data.groups.reduce((n, g) => n + g.rules.length, 0),
      alertExprs().length,
      'every rule of deploy/prometheus/alerts.yml is loaded',
    );
    const services = (await prom.query('count by (service) (process_cpu_seconds_total)')).map((s) => s.metric.service).sort();
    assert.deepEqual(services, ['aux-trainer', 'gpu-host', 'merger']);
  });

  it('should see the counters grow while a job trains, and every cola_ series exist', async () => {
    const data = spamSample(ROWS, 16);
    const job: TestJob = {
      aux: LOWRANK,
      batchSize: 8,
      maxLength: 32,
      lr: 5e-3,
      seed: 11,
      staleness: 2,
      jobId: 'obs-job',
      tenantId: 'tenant-obs',
      transfer: { mode: 'activations', dtype: 'fp16' },
    };
    await stack.submit(jobSpec(job, data.labels), jobFiles(job, data));
    assert.equal(await stack.waitForFinal(job.jobId), 'succeeded');
    const steps = ROWS / 8;
    // One inference call, so the merger's latency histogram has an observation.
    const client = new InferenceClient(stack.mergerAddress, credentials.createInsecure());
    try {
      const gen = await new Promise<GenerateResponse>((ok, fail) =>
        client.generate({ model: 'base', prompt: 'Call me', maxNewTokens: 2, temperature: 0, seed: 1 }, (e, r) => (e ? fail(e) : ok(r))),
      );
      assert.equal(gen.model, 'base');
    } finally {
      client.close();
    }
    await prom.until(
      'the last fit step scraped',
      async () => (await prom.value('sum(cola_trainer_fit_steps_total{outcome="committed"})')) >= steps,
    );
    await prom.until('the inference scraped', async () => (await prom.value('sum(cola_inference_seconds_count)')) >= 1);
    // Labelled series appear with their first observation; rate() needs a few samples of each.
    const histograms = (Object.values(METRICS) as MetricSpec[]).filter(
      (s) => s.type === 'histogram' && !(s.services.length === 1 && s.services[0] === 'gateway'),
    );
    await prom.until('three samples of every histogram', async () => {
      for (const h of histograms) if ((await prom.value(`min(count_over_time(${h.name}_count[1m]))`)) < 3) return false;
      return true;
    });

    const written = await prom.value('sum(cola_transfer_written_bytes_total)');
    const batches = await prom.value('sum(cola_host_batches_total)');
    console.log(`transfer written ${before0.written} -> ${written} bytes; batches ${before0.batches} -> ${batches}`);
    assert.ok(written > before0.written, 'bytes written grew');
    assert.equal(batches - before0.batches, steps, `${steps} tenant batches`);
    const payload = await prom.value('sum(cola_transfer_written_bytes_total{direction="host_to_trainer",mode="activations",dtype="fp16"})');
    const read = await prom.value('sum(cola_transfer_read_bytes_total{direction="host_to_trainer",mode="activations",dtype="fp16"})');
    assert.ok(payload > 0, 'payload bytes are labelled with the job transfer mode and dtype');
    assert.equal(read, payload, 'the trainer reads exactly the payload bytes the host wrote');
    assert.equal(
      await prom.value('sum(cola_host_tokens_total{tenant="other"})'),
      await prom.value('sum(cola_host_tokens_total)'),
      'a tenant off the allowlist is labelled other',
    );
    assert.equal(await prom.value('count(cola_host_tokens_total{tenant="tenant-obs"})'), 0, 'no raw tenant id without the allowlist');

    for (const spec of Object.values(METRICS) as MetricSpec[]) {
      if (spec.services.length === 1 && spec.services[0] === 'gateway') continue;
      const name = seriesNames(spec)[0]!;
      const n = await prom.value(`count({__name__="${name}"})`);
      assert.ok(n > 0, `series ${name} exists in Prometheus`);
    }
  });

  it('should parse and return data for every dashboard and alert expression (redis_exporter ones excepted)', async () => {
    const skipped: string[] = [];
    const checks = [
      ...dashboardExprs().map((e) => ({ ...e, signals: [e.expr] })),
      ...alertExprs().map((e) => ({ ...e, signals: alertSignals(e.expr) })),
    ];
    for (const { where, expr, signals } of checks) {
      await prom.query(expr); // parses and evaluates, or throws with Prometheus's message
      if (needsRedisExporter(expr)) {
        skipped.push(where);
        continue;
      }
      for (const signal of signals) {
        const r = await prom.query(signal);
        assert.ok(r.length > 0, `${where}: no data for ${signal}`);
      }
    }
    console.log(`checked ${checks.length} expressions; skipped (need redis_exporter): ${skipped.join('; ')}`);
    assert.deepEqual(skipped.sort(), [
      'alert: ColaRedisEvictions',
      'alert: ColaRedisMemoryNearLimit',
      'dashboard: Redis memory (needs redis_exporter) / A',
      'dashboard: Redis memory (needs redis_exporter) / B',
      'dashboard: Redis memory (needs redis_exporter) / C',
    ]);

    const overhead = dashboardExprs().find((e) => e.where.startsWith('dashboard: Communication overhead ratio'))!.expr;
    const perToken = dashboardExprs().find((e) => e.where.startsWith('dashboard: Bytes per trained token'))!.expr;
    const ratio = await prom.value(overhead);
    const bytesPerToken = await prom.value(perToken);
    console.log(`communication overhead ratio ${ratio.toFixed(3)}; ${bytesPerToken.toFixed(1)} payload bytes per trained token`);
    assert.ok(Number.isFinite(ratio) && ratio > 0, `overhead ratio ${ratio}`);
    assert.ok(Number.isFinite(bytesPerToken) && bytesPerToken > 0, `bytes per token ${bytesPerToken}`);

    // The series behind docs/communication-overhead.png (rendered by render-overhead-plot.ts).
    const endSec = Date.now() / 1000;
    const series: Record<string, MatrixSeriesLite> = {};
    const panels: [string, string][] = [
      ['overhead', overhead],
      ['bytesPerToken', perToken],
      ['forward', 'sum(rate(cola_host_forward_seconds_sum[1m])) / sum(rate(cola_host_step_seconds_count[1m]))'],
      ['backward', 'sum(rate(cola_host_backward_seconds_sum[1m])) / sum(rate(cola_host_step_seconds_count[1m]))'],
      ['encode', 'sum(rate(cola_host_encode_seconds_sum[1m])) / sum(rate(cola_host_step_seconds_count[1m]))'],
      ['write', 'sum(rate(cola_host_write_seconds_sum[1m])) / sum(rate(cola_host_step_seconds_count[1m]))'],
      ['queueWait', 'sum(rate(cola_queue_wait_seconds_sum{queue="adapt"}[1m])) / sum(rate(cola_host_step_seconds_count[1m]))'],
      ['decode', 'sum(rate(cola_trainer_decode_seconds_sum[1m])) / sum(rate(cola_host_step_seconds_count[1m]))'],
    ];
    for (const [key, expr] of panels) {
      const r = await prom.range(expr, Math.floor(startSec), Math.ceil(endSec), 1);
      series[key] = { expr, values: (r[0]?.values ?? []).map(([t, v]) => [t - Math.floor(startSec), Number(v)]) };
    }
    mkdirSync('tmp', { recursive: true });
    writeFileSync(
      'tmp/observability-run.json',
      JSON.stringify({ rows: ROWS, transfer: 'activations fp16', model: 'tiny (d 16, 2 layers)', series }, null, 1),
    );
  });
});

interface MatrixSeriesLite {
  expr: string;
  values: [number, number][];
}
