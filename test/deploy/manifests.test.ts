import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ENV, PORTS, QUEUES, queueDepthKeys } from '@cola/config';
import { freePort } from '@cola/testing';
import { loadManifests, type ManifestBundle, type ManifestDoc } from './manifest-loader';
import {
  checkEnv,
  checkKeda,
  checkKustomization,
  checkPorts,
  checkPrometheus,
  checkRedis,
  checkWorkloads,
  findRedisConf,
  parseQuantity,
  parseRedisBytes,
} from './manifest-checks';
import { at, isMap, maps, type YamlMap } from './yaml-access';

/** Fails with every problem listed, each naming its manifest and field. */
function assertNoProblems(problems: string[], what: string): void {
  assert.deepEqual(problems, [], `${what}: ${problems.length} problem(s)\n  - ${problems.join('\n  - ')}`);
}

/** Asserts that some problem mentions every one of `parts` (file, field, constant...). */
function assertReported(problems: string[], parts: string[]): void {
  const hit = problems.find((p) => parts.every((part) => p.includes(part)));
  assert.ok(
    hit,
    `expected a problem mentioning ${parts.map((p) => JSON.stringify(p)).join(' and ')}, got:\n  - ${problems.join('\n  - ') || '(none)'}`,
  );
}

function docOf(bundle: ManifestBundle, kind: string, name: string): ManifestDoc {
  const doc = bundle.docs.find((d) => d.kind === kind && d.name === name);
  assert.ok(doc, `${kind}/${name} is missing from ${bundle.dir}`);
  return doc;
}

function containerOf(bundle: ManifestBundle, kind: string, name: string): YamlMap {
  const c = maps(at(docOf(bundle, kind, name).body, 'spec.template.spec.containers')).find((x) => x['name'] === name);
  assert.ok(c, `${kind}/${name} has no container ${name}`);
  return c;
}

describe('when the deploy/k8s manifests are compared with libs/config', () => {
  let bundle: ManifestBundle;
  before(() => {
    bundle = loadManifests();
  });

  it('should list every manifest file in kustomization.yaml, under one namespace', () => {
    assert.ok(bundle.docs.length >= 15, `only ${bundle.docs.length} documents loaded`);
    assertNoProblems(checkKustomization(bundle), 'kustomization');
  });

  it('should use the PORTS constant of each service for every container, probe and Service port', () => {
    assertNoProblems(checkPorts(bundle), 'ports');
    // The check is not vacuous: the ports it compared are the constants themselves.
    const merger = containerOf(bundle, 'Deployment', 'merger');
    assert.deepEqual(
      maps(merger['ports']).map((p) => p['containerPort']),
      [PORTS.mergerGrpc, PORTS.metrics.merger],
    );
  });

  it('should only set env variables that libs/config defines and the service reads, with values that load', () => {
    assertNoProblems(checkEnv(bundle), 'env');
  });

  it("should scale aux-trainer on the sum of the adapt queue's waiting and prioritized keys", () => {
    assertNoProblems(checkKeda(bundle), 'KEDA');
    const lists = maps(at(docOf(bundle, 'ScaledObject', 'aux-trainer').body, 'spec.triggers')).map((t) => at(t, 'metadata.listName'));
    const keys = queueDepthKeys(QUEUES.adapt);
    assert.deepEqual([...lists].sort(), [keys.prioritized, keys.wait].sort());
  });

  it('should configure Redis with AOF, a maxmemory below the memory limit and noeviction', () => {
    assertNoProblems(checkRedis(bundle), 'Redis');
  });

  it('should annotate every pod for Prometheus with the metrics port of its service', () => {
    assertNoProblems(checkPrometheus(bundle), 'Prometheus');
  });

  it('should run the placeholder images with probes, GPU scheduling and graceful shutdown', () => {
    assertNoProblems(checkWorkloads(bundle), 'workloads');
  });
});

describe('when a manifest disagrees with libs/config', () => {
  let pristine: ManifestBundle;
  before(() => {
    pristine = loadManifests();
  });

  /** A deep copy of the manifests with one edit, so each negative control starts clean. */
  function broken(edit: (b: ManifestBundle) => void): ManifestBundle {
    const copy = structuredClone(pristine);
    edit(copy);
    return copy;
  }

  it('should name the file, the field and the constant of a wrong container port', () => {
    const b = broken((x) => {
      maps(containerOf(x, 'Deployment', 'gateway')['ports'])[0]!['containerPort'] = PORTS.gatewayHttp + 1;
    });
    assertReported(checkPorts(b), ['deploy/k8s/base/gateway.yaml', 'Deployment/gateway', 'ports[http].containerPort', 'PORTS.gatewayHttp']);
  });

  it('should report a Service port that is not the constant', () => {
    const b = broken((x) => {
      maps(at(docOf(x, 'Service', 'merger').body, 'spec.ports'))[0]!['port'] = 50052;
    });
    assertReported(checkPorts(b), ['deploy/k8s/base/merger.yaml', 'Service/merger', 'spec.ports[grpc].port', 'PORTS.mergerGrpc']);
  });

  it('should report an env variable that libs/config does not define', () => {
    const b = broken((x) => {
      const env = containerOf(x, 'Deployment', 'aux-trainer')['env'];
      assert.ok(Array.isArray(env));
      env.push({ name: 'REDIS_HOST', value: 'redis' });
    });
    assertReported(checkEnv(b), ['deploy/k8s/base/aux-trainer.yaml', 'env[REDIS_HOST]', 'libs/config/src/env-vars.ts']);
  });

  it("should accept every variable a service's config declares, e.g. the gpu-host's job limit and metric tenants", () => {
    const b = broken((x) => {
      const env = containerOf(x, 'Deployment', 'gpu-host')['env'];
      assert.ok(Array.isArray(env));
      env.push({ name: ENV.COLA_MAX_ACTIVE_JOBS, value: '8' }, { name: ENV.COLA_METRICS_TENANTS, value: 'acme,globex' });
    });
    assert.deepEqual(checkEnv(b), []);
  });

  it('should report a port variable that disagrees with the containerPort', () => {
    const b = broken((x) => {
      const env = maps(containerOf(x, 'Deployment', 'aux-trainer')['env']).find((e) => e['name'] === ENV.METRICS_PORT);
      assert.ok(env);
      env['value'] = '9200';
    });
    assertReported(checkEnv(b), ['Deployment/aux-trainer', 'env METRICS_PORT resolves to 9200', 'containerPort metrics is 9102']);
  });

  it('should report a REDIS_URL that dials the wrong port, and a value the config rejects', () => {
    const b = broken((x) => {
      const data = docOf(x, 'ConfigMap', 'cola-common').body['data'];
      assert.ok(isMap(data));
      data[ENV.REDIS_URL] = 'redis://redis:6380';
      data[ENV.LOG_LEVEL] = 'verbose';
    });
    const problems = checkEnv(b);
    assertReported(problems, ['Deployment/gateway', 'LOG_LEVEL="verbose" is invalid']);
    const c = broken((x) => {
      const url = maps(containerOf(x, 'Deployment', 'merger')['env']).find((e) => e['name'] === ENV.REDIS_URL);
      assert.ok(url);
      url['value'] = 'redis://:$(REDIS_PASSWORD)@redis:6380';
    });
    assertReported(checkEnv(c), [
      'Deployment/merger',
      'env REDIS_URL (spec.template.spec.containers[merger].env[REDIS_URL]) dials port 6380',
      'PORTS.redis',
    ]);
  });

  it('should report a ScaledObject that counts only the waiting list', () => {
    const b = broken((x) => {
      const spec = at(docOf(x, 'ScaledObject', 'aux-trainer').body, 'spec');
      assert.ok(isMap(spec));
      spec['triggers'] = maps(spec['triggers']).filter((t) => at(t, 'metadata.listName') === queueDepthKeys(QUEUES.adapt).wait);
    });
    assertReported(checkKeda(b), [
      'deploy/k8s/components/keda/aux-trainer-scaledobject.yaml',
      'ScaledObject/aux-trainer',
      queueDepthKeys(QUEUES.adapt).prioritized,
    ]);
  });

  it('should report two triggers that are not summed', () => {
    const b = broken((x) => {
      const modifiers = at(docOf(x, 'ScaledObject', 'aux-trainer').body, 'spec.advanced.scalingModifiers');
      assert.ok(isMap(modifiers));
      modifiers['formula'] = 'max(adapt_wait, adapt_prioritized)';
    });
    assertReported(checkKeda(b), ['ScaledObject/aux-trainer', 'spec.advanced.scalingModifiers.formula']);
  });

  it('should report a KEDA trigger that reads a key of another queue or dials a short host', () => {
    const b = broken((x) => {
      const first = maps(at(docOf(x, 'ScaledObject', 'aux-trainer').body, 'spec.triggers'))[0]!;
      const metadata = first['metadata'];
      assert.ok(isMap(metadata));
      metadata['listName'] = queueDepthKeys(QUEUES.jobs).wait;
      metadata['host'] = 'redis';
    });
    const problems = checkKeda(b);
    assertReported(problems, ['spec.triggers[adapt_wait].metadata.listName', queueDepthKeys(QUEUES.jobs).wait]);
    assertReported(problems, ['spec.triggers[adapt_wait].metadata.host redis is a short name']);
  });

  it('should report a Redis that may evict or does not persist', () => {
    const b = broken((x) => {
      const data = docOf(x, 'ConfigMap', 'redis-config').body['data'];
      assert.ok(isMap(data));
      data['redis.conf'] = String(data['redis.conf']).replace('noeviction', 'allkeys-lru').replace('appendonly yes', 'appendonly no');
    });
    const problems = checkRedis(b);
    assertReported(problems, ['deploy/k8s/base/redis.yaml', 'ConfigMap/redis-config', 'maxmemory-policy is allkeys-lru']);
    assertReported(problems, ['ConfigMap/redis-config', 'appendonly is no']);
  });

  it('should report a maxmemory that the container memory limit cannot hold', () => {
    const b = broken((x) => {
      const limits = at(containerOf(x, 'StatefulSet', 'redis'), 'resources.limits');
      assert.ok(isMap(limits));
      limits['memory'] = '2Gi';
    });
    assertReported(checkRedis(b), ['ConfigMap/redis-config', 'maxmemory 3gb is not below the container memory limit 2Gi']);
  });

  it('should report a wrong or missing Prometheus port annotation', () => {
    const b = broken((x) => {
      const annotations = at(docOf(x, 'Deployment', 'aux-trainer').body, 'spec.template.metadata.annotations');
      assert.ok(isMap(annotations));
      annotations['prometheus.io/port'] = String(PORTS.metrics.gpuHost);
      const gw = at(docOf(x, 'Deployment', 'gateway').body, 'spec.template.metadata.annotations');
      assert.ok(isMap(gw));
      delete gw['prometheus.io/path'];
    });
    const problems = checkPrometheus(b);
    assertReported(problems, ['deploy/k8s/base/aux-trainer.yaml', '"prometheus.io/port" is 9101', 'PORTS.metrics.auxTrainer']);
    assertReported(problems, ['deploy/k8s/base/gateway.yaml', '"prometheus.io/path" is undefined']);
  });

  it('should report a gpu-host without a GPU and an aux-trainer without a grace period', () => {
    const b = broken((x) => {
      const requests = at(containerOf(x, 'Deployment', 'gpu-host'), 'resources.requests');
      assert.ok(isMap(requests));
      delete requests['nvidia.com/gpu'];
      const pod = at(docOf(x, 'Deployment', 'aux-trainer').body, 'spec.template.spec');
      assert.ok(isMap(pod));
      delete pod['terminationGracePeriodSeconds'];
    });
    const problems = checkWorkloads(b);
    assertReported(problems, ['deploy/k8s/base/gpu-host.yaml', 'resources.requests."nvidia.com/gpu" must be 1']);
    assertReported(problems, ['deploy/k8s/base/aux-trainer.yaml', 'terminationGracePeriodSeconds']);
  });

  it('should report a manifest file that kustomization.yaml does not list', () => {
    const b = broken((x) => {
      x.resources = x.resources.filter((r) => r !== 'merger.yaml');
    });
    assertReported(checkKustomization(b), ['deploy/k8s/base/kustomization.yaml', 'does not list merger.yaml']);
  });
});

describe('when sizes are written in Redis and Kubernetes units', () => {
  it('should read them with their own conventions (Redis: 1k = 1000, 1kb = 1024)', () => {
    assert.equal(parseRedisBytes('3gb'), 3 * 1024 ** 3);
    assert.equal(parseRedisBytes('3g'), 3e9);
    assert.equal(parseRedisBytes('512mb'), 512 * 1024 ** 2);
    assert.equal(parseRedisBytes('lots'), undefined);
    assert.equal(parseQuantity('4Gi'), 4 * 1024 ** 3);
    assert.equal(parseQuantity('4G'), 4e9);
    assert.equal(parseQuantity('1.5Gi'), 1.5 * 1024 ** 3);
  });
});

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

describe(
  'when the manifest redis.conf is started by a real redis-server',
  { skip: hasRedisServer ? false : 'redis-server is not installed (apt-get install -y redis-server)' },
  () => {
    let dir: string;
    let child: ChildProcess | undefined;
    let client: Redis | undefined;

    before(async () => {
      const conf = findRedisConf(loadManifests());
      assert.ok(typeof conf !== 'string', String(conf));
      dir = mkdtempSync(join(tmpdir(), 'cola-redis-conf-'));
      const path = join(dir, 'redis.conf');
      // `dir` is applied while the file is read (Redis chdirs there), so the manifest's /data must
      // be replaced in the copy; the bind and port are overridden on the command line, which Redis
      // reads after the file. Every other directive is the manifest's own.
      writeFileSync(path, conf.text.replace(/^\s*dir\s.*$/m, `dir ${dir}`));
      const port = await freePort();
      child = spawn('redis-server', [path, '--port', String(port), '--bind', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
          output += chunk.toString();
          if (output.includes('Ready to accept connections')) resolve();
        };
        child!.stdout!.on('data', onData);
        child!.stderr!.on('data', onData);
        child!.once('exit', (code) => reject(new Error(`redis-server rejected the manifest's redis.conf (exit ${code}):\n${output}`)));
      });
      client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
      await client.connect();
    });

    after(async () => {
      await client?.quit().catch(() => undefined);
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('should run with AOF on, noeviction and the manifest maxmemory', async () => {
      const conf = findRedisConf(loadManifests());
      assert.ok(typeof conf !== 'string');
      const get = async (name: string): Promise<string | undefined> => {
        const reply = (await client!.call('CONFIG', 'GET', name)) as string[];
        return reply[1];
      };
      assert.equal(await get('appendonly'), 'yes');
      assert.equal(await get('maxmemory-policy'), 'noeviction');
      assert.equal(Number(await get('maxmemory')), parseRedisBytes(conf.directives.get('maxmemory') ?? ''));
    });

    it('should refuse a write with an OOM error instead of evicting once memory is full', async () => {
      // Shrink the limit below what is used: noeviction must refuse, never drop data.
      await client!.set('cola:probe:kept', 'x');
      await client!.call('CONFIG', 'SET', 'maxmemory', '1');
      await assert.rejects(client!.set('cola:probe:new', 'y'), /OOM/);
      assert.equal(await client!.get('cola:probe:kept'), 'x');
    });
  },
);
