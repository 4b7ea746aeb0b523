/**
 * `npm run test:containers`: the platform as containers, configured exactly as the local
 * Kubernetes overlay configures it. Builds (or reuses) the images, starts Redis, the gateway, the
 * gpu-host, two aux-trainers, the merger and Prometheus on one Docker network, runs a fine-tuning
 * job through the gateway's HTTP API to `succeeded` while the trainers are scaled 2 -> 3 -> 2 and
 * one is killed mid-job, classifies with the result, reads the communication-overhead series
 * from Prometheus, and removes every container, network and volume it made.
 *
 * Not part of `npm test` (it needs a Docker engine and takes minutes); `.ci/run` runs it when it
 * has an engine. DOCKER_HOST selects the engine.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { BULLMQ_PREFIX, PORTS, QUEUES } from '@cola/config';
import { toJsonl } from '@cola/data';
import { buildAllImages, engineReachable, formatReport, IMAGES } from '@cola/deploy';
import { renderKustomization, type RenderedDoc } from '../deploy/kustomize-render';
import { REPO_ROOT } from '../deploy/manifest-loader';
import { resolveContainer } from '../deploy/overlay-env';
import { at, stringMap } from '../deploy/yaml-access';
import { Api } from './support/api';
import { dashboardExprs, metricNamesIn } from '../observability/support/observability-files';
import { ContainerStack, type Container } from './support/container-stack';
import { questionRows } from '../support/question-rows';

const REASON = engineReachable() ? false : 'no Docker engine answers (set DOCKER_HOST or start one; see deploy/README.md)';
const TENANT = 'acme';
/** Tokens per example; the committed cola-tiny has 128 positions. */
const MAX_LENGTH = 32;
/** Long enough (steps) for the scaling and the kill to happen while the job runs. */
const EPOCHS = 12;
const METRICS_PATH = '/metrics';
/** Prometheus' own HTTP port (its default; not one of the platform's). */
const PROMETHEUS_PORT = 9090;

/** Polls `probe` until it returns a value (not undefined), or fails after `ms` saying `what`. */
async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * GET `url`: true on a 2xx. The timer is a ref'd one on purpose: AbortSignal.timeout's does not
 * keep the event loop alive, and a published port of a dead container can accept and then hang.
 */
async function ok(url: string): Promise<true | undefined> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 3000);
  try {
    return (await fetch(url, { signal: ctl.signal })).ok ? true : undefined;
  } finally {
    clearTimeout(timer);
  }
}

interface JobView {
  status: string;
  fine_tuned_model: string | null;
  error: { message: string } | null;
  progress: { step: number; total_steps: number; aux_version: number; fit_tasks: number } | null;
}

describe('when the platform runs as containers configured like the local Kubernetes overlay', { skip: REASON }, () => {
  const stack = new ContainerStack();
  const started = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'cola-ct-'));
  let docs: RenderedDoc[];
  let gateway: Container;
  let redis: Container;
  let prometheus: Container;
  let api: Api;
  let adminKey: string;
  let redisPassword: string;
  const hosts = new Map<string, Container>();
  const trainers: string[] = [];
  /** When the test saw the job finish, unix seconds: the ratio is evaluated over the minute before. */
  let jobDoneAt = 0;

  /** Resolves once the container answers `GET /metrics` on its published `port`. */
  async function answering(name: string, c: Container, port: number): Promise<void> {
    await until(`${name} to answer ${METRICS_PATH}`, 300_000, () => ok(`http://127.0.0.1:${c.ports.get(port)}${METRICS_PATH}`));
  }

  /**
   * Starts a service container with the overlay's environment and security settings and, unless
   * `wait` is false, waits until it answers `/metrics`.
   */
  async function service(workload: string, name: string, metricsPort: number, wait = true): Promise<Container> {
    const { env } = resolveContainer(docs, workload);
    const c = await stack.run({
      name,
      alias: workload,
      image: IMAGES.services[workload as keyof typeof IMAGES.services],
      env,
      publish: [metricsPort],
      tmpfs: ['/tmp'],
      readOnly: true,
      user: '1000:1000',
    });
    hosts.set(name, c);
    if (wait) await answering(name, c, metricsPort);
    return c;
  }

  /**
   * Starts one more aux-trainer. With `wait` false it returns once the container runs: a trainer
   * takes minutes to load on a busy machine, and the job must still be running when one is killed.
   */
  async function addTrainer(wait = true): Promise<string> {
    const name = `aux-trainer-${trainers.length + 1}`;
    trainers.push(name);
    await service('aux-trainer', name, PORTS.metrics.auxTrainer, wait);
    return name;
  }

  /** An instant query, evaluated now or at `time` (unix seconds). */
  async function promQuery(expr: string, time?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const at = time === undefined ? '' : `&time=${time}`;
    const res = await fetch(
      `http://127.0.0.1:${prometheus.ports.get(PROMETHEUS_PORT)}/api/v1/query?query=${encodeURIComponent(expr)}${at}`,
    );
    const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    assert.equal(body.status, 'success', expr);
    return body.data.result;
  }

  before(async () => {
    const rows = await buildAllImages({ root: REPO_ROOT, log: (l) => console.log(`# ${l}`) });
    console.log(formatReport(rows).replace(/^/gm, '# '));
    docs = renderKustomization(join(REPO_ROOT, 'deploy', 'k8s', 'overlays', 'local'), REPO_ROOT);
    const secret = stringMap(at(docs.find((d) => d.body['kind'] === 'Secret')?.body, 'stringData'));
    adminKey = secret['gateway-admin-key']!;
    redisPassword = secret['redis-password']!;
    await stack.createNetwork();

    // Redis: the StatefulSet's command line and redis.conf (its ConfigMap), data on a volume.
    const conf = stringMap(
      at(docs.find((d) => d.body['kind'] === 'ConfigMap' && at(d.body, 'metadata.name') === 'redis-config')?.body, 'data'),
    );
    const confDir = join(work, 'redis');
    rmSync(confDir, { recursive: true, force: true });
    mkdirSync(confDir);
    writeFileSync(join(confDir, 'redis.conf'), conf['redis.conf']!);
    const data = await stack.volume('redis-data');
    const r = resolveContainer(docs, 'redis');
    redis = await stack.run({
      name: 'redis',
      image: IMAGES.redis,
      env: r.env,
      command: r.argv,
      publish: [PORTS.redis],
      mounts: [`${data}:/data`, `${confDir}:/etc/redis:ro`],
      readOnly: true,
    });

    // Prometheus scrapes what the PodMonitors select: every service's /metrics, every second.
    const targets: Record<string, string[]> = {
      gateway: [`gateway:${PORTS.gatewayHttp}`],
      'gpu-host': [`gpu-host:${PORTS.metrics.gpuHost}`],
      'aux-trainer': [1, 2, 3, 4].map((i) => `aux-trainer-${i}:${PORTS.metrics.auxTrainer}`),
      merger: [`merger:${PORTS.metrics.merger}`],
    };
    const promDir = join(work, 'prometheus');
    mkdirSync(promDir);
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        ...Object.entries(targets).map(
          ([job, t]) => `  - { job_name: ${job}, metrics_path: ${METRICS_PATH}, static_configs: [{ targets: ${JSON.stringify(t)} }] }`,
        ),
        '',
      ].join('\n'),
    );
    const promData = await stack.volume('prometheus-data');
    prometheus = await stack.run({
      name: 'prometheus',
      image: IMAGES.prometheus,
      publish: [PROMETHEUS_PORT],
      mounts: [`${promDir}:/etc/prometheus:ro`, `${promData}:/data`],
      readOnly: true,
    });

    await service('merger', 'merger', PORTS.metrics.merger);
    await service('gpu-host', 'gpu-host', PORTS.metrics.gpuHost);
    await addTrainer();
    await addTrainer();
    gateway = await service('gateway', 'gateway', PORTS.gatewayHttp);
    api = new Api(`http://127.0.0.1:${gateway.ports.get(PORTS.gatewayHttp)}`);
    await until('the gateway to be ready', 60_000, () => ok(`${api.baseUrl}/readyz`));
  });

  after(async () => {
    const left = await stack.removeAll();
    rmSync(work, { recursive: true, force: true });
    if (left.containers.length + left.networks.length + left.volumes.length > 0) console.log(`# left behind: ${JSON.stringify(left)}`);
    console.log(`# test:containers took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  });

  it('should fine-tune to succeeded while trainers scale 2 -> 3 -> 2 and one is killed, losing nothing', { timeout: 900_000 }, async () => {
    assert.equal((await api.post('/v1/admin/tenants', { id: TENANT, name: 'ACME' }, adminKey)).status, 201);
    const key = (await api.post<{ key: string }>(`/v1/admin/tenants/${TENANT}/api_keys`, {}, adminKey)).body.key;
    const rows = questionRows(64);
    const train = await api.upload<{ id: string; rows: number }>(toJsonl(rows), key, 'questions.jsonl');
    assert.equal(train.status, 200, train.text);
    const created = await api.post<{ id: string }>(
      '/v1/fine_tuning/jobs',
      {
        model: 'cola-tiny',
        training_file: train.body.id,
        method: { aux: { type: 'lowrank', rank: 4 } },
        hyperparameters: { n_epochs: EPOCHS, batch_size: 8, learning_rate: 0.02, max_length: MAX_LENGTH },
        seed: 3,
      },
      key,
    );
    assert.equal(created.status, 200, created.text);
    const path = `/v1/fine_tuning/jobs/${created.body.id}`;
    const job = async (): Promise<JobView> => (await api.get<JobView>(path, key)).body;
    const running = async (minStep: number): Promise<JobView> =>
      until(`step ${minStep}`, 300_000, async () => {
        const j = await job();
        assert.ok(!['failed', 'cancelled'].includes(j.status), `job ${j.status}: ${j.error?.message ?? ''}`);
        return (j.progress?.step ?? 0) >= minStep ? j : undefined;
      });

    const first = await running(1);
    const total = first.progress!.total_steps;
    assert.equal(total, (64 / 8) * EPOCHS);
    console.log(`# job ${created.body.id}: ${total} steps; scaling 2 -> 3 trainers`);
    const third = await addTrainer(false);
    const mid = await running(Math.ceil(total / 4));
    assert.equal(mid.status, 'running', 'the job must still run when a trainer is killed (make it longer)');
    const victim = `${stack.id}-${trainers[0]}`;
    console.log(`# step ${mid.progress!.step}/${total}: killing ${trainers[0]} (SIGKILL) and replacing it`);
    await stack.kill(victim);
    const fourth = await addTrainer(false);
    for (const name of [third, fourth]) await answering(name, hosts.get(name)!, PORTS.metrics.auxTrainer);
    const now = await job();
    console.log(`# step ${now.progress?.step ?? 0}/${total} (${now.status}): scaling 3 -> 2, stopping ${third} with SIGTERM`);
    const thirdFull = `${stack.id}-${third}`;
    assert.equal(await stack.stop(thirdFull), 0, `${third} stops cleanly on SIGTERM:\n${await stack.logs(thirdFull)}`);

    const done = await until('the job to finish', 600_000, async () => {
      const j = await job();
      return ['succeeded', 'failed', 'cancelled'].includes(j.status) ? j : undefined;
    });
    jobDoneAt = Date.now() / 1000;
    assert.equal(done.status, 'succeeded', `job ${done.status}: ${done.error?.message ?? ''}\n${await stack.logs(`${stack.id}-gpu-host`)}`);
    assert.equal(done.progress!.step, total);
    // Every published fit task became exactly one aux version: none lost with the killed
    // trainer, none applied twice after its redelivery.
    assert.equal(done.progress!.aux_version, done.progress!.fit_tasks);

    const queue = new Queue(QUEUES.adapt, {
      prefix: BULLMQ_PREFIX,
      connection: { host: '127.0.0.1', port: redis.ports.get(PORTS.redis)!, password: redisPassword },
    });
    try {
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
      assert.deepEqual(counts, { waiting: 0, prioritized: 0, active: 0, delayed: 0, failed: 0, paused: 0 });
    } finally {
      await queue.close();
    }

    const cls = await api.post<{ data: { label: string }[] }>(
      '/v1/classifications',
      { model: done.fine_tuned_model, input: rows.slice(0, 4).map((r) => r.text) },
      key,
    );
    assert.equal(cls.status, 200, cls.text);
    assert.equal(cls.body.data.length, 4);
    for (const d of cls.body.data) assert.ok(['question', 'statement'].includes(d.label));
  });

  it('should scrape every service from Prometheus and find the communication-overhead series', { timeout: 120_000 }, async () => {
    const up = await until('every running service to be up in Prometheus', 60_000, async () => {
      const r = await promQuery('up == 1');
      const jobs = new Set(r.map((s) => s.metric['job']));
      return ['gateway', 'gpu-host', 'aux-trainer', 'merger'].every((j) => jobs.has(j)) ? r : undefined;
    });
    const trainerTargets = up.filter((s) => s.metric['job'] === 'aux-trainer').map((s) => s.metric['instance']);
    assert.equal(trainerTargets.length, 2, `two trainers up now: ${trainerTargets.join(', ')}`);
    const overhead = dashboardExprs().find((e) => e.where.startsWith('dashboard: Communication overhead ratio'))!.expr;
    for (const name of metricNamesIn(overhead)) {
      assert.ok((await promQuery(name)).length > 0, `series ${name}`);
    }
    // Over the last minute of the job: by now, on a busy machine, the job may have ended more
    // than the expression's 1m window ago, and the rates would be 0.
    assert.ok(jobDoneAt > 0, 'the job test ran first');
    const ratio = await until('a communication-overhead ratio', 60_000, async () => {
      const r = await promQuery(overhead, jobDoneAt);
      const v = Number(r[0]?.value[1]);
      return Number.isFinite(v) && v > 0 ? v : undefined;
    });
    console.log(`# communication overhead ratio (Prometheus, the job's last minute): ${ratio.toFixed(3)}`);
  });

  it('should stop every service cleanly on SIGTERM, then remove every container, network and volume', { timeout: 300_000 }, async () => {
    for (const name of ['gateway', 'gpu-host', trainers[1]!, trainers[3]!, 'merger']) {
      const full = `${stack.id}-${name}`;
      assert.equal(await stack.stop(full), 0, `${name} exits 0 on SIGTERM:\n${await stack.logs(full)}`);
    }
    const left = await stack.removeAll();
    assert.deepEqual(left, { containers: [], networks: [], volumes: [] });
  });
});
