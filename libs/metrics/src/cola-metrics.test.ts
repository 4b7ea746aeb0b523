import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { METRICS, OTHER_TENANT, QUEUE_STATES, QUEUES, queueOptions } from '@cola/config';
import { useRedis } from '@cola/testing';
import { ColaMetrics } from './cola-metrics';
import { collectQueueDepth } from './queue-depth';
import { createServiceRegistry } from './service-registry';
import { TenantLabels } from './tenant-labels';

/** The value of one exposed sample line, e.g. `cola_queue_jobs{...,state="waiting"}`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('when a service creates its registry and metrics', () => {
  it('should expose the default metrics and every metric of the service, labelled with the service', async () => {
    const registry = createServiceRegistry('gpu-host');
    ColaMetrics.of(registry).registerService('gpu-host');
    const text = await registry.metrics();
    assert.match(text, /^process_cpu_user_seconds_total\{service="gpu-host"\} /m, 'default metrics carry the service label');
    for (const spec of Object.values(METRICS)) {
      const has = text.includes(`# TYPE ${spec.name} ${spec.type}`);
      assert.equal(
        has,
        (spec.services as readonly string[]).includes('gpu-host'),
        `${spec.name} ${has ? 'must not' : 'must'} be registered by the gpu-host`,
      );
    }
    assert.equal(sample(text, 'cola_host_steps_total', { service: 'gpu-host' }), 0, 'an unlabelled counter is scraped as 0 from the start');
  });

  it('should return the same metrics for the same registry, so two services in one process share them', () => {
    const registry = new Registry();
    const a = ColaMetrics.of(registry).registerService('aux-trainer');
    const b = ColaMetrics.of(registry).registerService('aux-trainer');
    assert.equal(a, b);
    assert.equal(a.counter('trainerFitSteps'), b.counter('trainerFitSteps'));
    assert.notEqual(ColaMetrics.of(), ColaMetrics.of(), 'without a registry each caller gets a private one');
  });

  it('should record milliseconds as seconds and ignore impossible durations', async () => {
    const m = ColaMetrics.of(new Registry());
    m.observeMs('trainerFitSeconds', 250);
    m.observeMs('trainerFitSeconds', Number.NaN);
    m.observeMs('trainerFitSeconds', -1);
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'cola_trainer_fit_seconds_sum', {}), 0.25);
    assert.equal(sample(text, 'cola_trainer_fit_seconds_count', {}), 1);
  });
});

describe('when tenants become labels', () => {
  it('should name only the tenants on the allowlist and call every other one "other"', () => {
    const labels = new TenantLabels(' acme, ,globex ');
    assert.equal(labels.size, 2);
    assert.equal(labels.of('acme'), 'acme');
    assert.equal(labels.of('globex'), 'globex');
    assert.equal(labels.of('initech'), OTHER_TENANT);
    assert.equal(new TenantLabels(undefined).of('acme'), OTHER_TENANT, 'no allowlist: no tenant id ever becomes a label');
    assert.throws(() => new TenantLabels(['other']), /"other" is the label of every unlisted tenant/);
  });
});

describe('when the queue depth is scraped', () => {
  const redis = useRedis();
  let queue: Queue;

  before(() => {
    queue = new Queue(QUEUES.adapt, { connection: redis.client(), ...queueOptions(QUEUES.adapt) });
  });

  after(async () => {
    await queue?.close();
  });

  it('should report every state of every queue from Redis at scrape time, prioritized jobs apart from waiting ones', async () => {
    const m = ColaMetrics.of(new Registry()).registerService('gpu-host');
    collectQueueDepth(m, [queue]);
    const before = await m.registry.metrics();
    for (const state of QUEUE_STATES) assert.equal(sample(before, 'cola_queue_jobs', { queue: 'adapt', state }), 0, `${state} starts at 0`);
    await queue.add('a', { n: 1 });
    await queue.add('b', { n: 2 });
    await queue.add('c', { n: 3 }, { priority: 5 });
    await queue.add('d', { n: 4 }, { delay: 60_000 });
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'cola_queue_jobs', { queue: 'adapt', state: 'waiting' }), 2);
    assert.equal(sample(text, 'cola_queue_jobs', { queue: 'adapt', state: 'prioritized' }), 1);
    assert.equal(sample(text, 'cola_queue_jobs', { queue: 'adapt', state: 'delayed' }), 1);
    assert.equal(sample(text, 'cola_queue_jobs', { queue: 'adapt', state: 'active' }), 0);
  });
});
