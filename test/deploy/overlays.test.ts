/**
 * Every overlay of deploy/k8s, rendered: each document validates against the Kubernetes (and
 * KEDA, Prometheus Operator) API schemas, and the production properties hold on what would
 * really be applied: security contexts, resources, probes, disruption budgets, network
 * policies, Redis persistence and password, autoscaling on the whole adapt backlog, monitoring.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { QUEUES, queueDepthKeys } from '@cola/config';
import { REPO_ROOT } from './manifest-loader';
import { SERVICE_SPECS } from './manifest-checks';
import { schemaProblems } from './k8s-schemas';
import { renderKustomization, type RenderedDoc } from './kustomize-render';
import { overlayServiceEnv } from './overlay-env';
import { at, isMap, maps, stringMap, type YamlMap } from './yaml-access';

const K8S = join(REPO_ROOT, 'deploy', 'k8s');
const OVERLAYS = ['local', 'production', 'production-hpa'] as const;
const NAMESPACE = 'cola';
const SERVICES = Object.keys(SERVICE_SPECS);

const render = (overlay: string): RenderedDoc[] => renderKustomization(join(K8S, 'overlays', overlay), REPO_ROOT);
const id = (d: YamlMap): string => `${String(d['kind'])}/${String(at(d, 'metadata.name'))}`;
const find = (docs: RenderedDoc[], kind: string, name: string): YamlMap | undefined =>
  docs.find((d) => d.body['kind'] === kind && at(d.body, 'metadata.name') === name)?.body;
const podSpecs = (docs: RenderedDoc[]): { name: string; spec: YamlMap; labels: Record<string, string> }[] =>
  docs
    .filter((d) => ['Deployment', 'StatefulSet'].includes(String(d.body['kind'])))
    .map((d) => ({
      name: String(at(d.body, 'metadata.name')),
      spec: at(d.body, 'spec.template.spec') as YamlMap,
      labels: stringMap(at(d.body, 'spec.template.metadata.labels')),
    }));
const selects = (selector: unknown, labels: Record<string, string>): boolean => {
  const match = stringMap(at(selector, 'matchLabels'));
  const exprs = maps(at(selector, 'matchExpressions'));
  return (
    Object.entries(match).every(([k, v]) => labels[k] === v) &&
    exprs.every((e) => e['operator'] === 'In' && Array.isArray(e['values']) && e['values'].includes(labels[String(e['key'])]))
  );
};

/** Sorts lists of named maps and documents, so two renders compare regardless of order. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(normalize);
    return items.every((x) => isMap(x) && typeof x['name'] === 'string')
      ? [...items].sort((a, b) => String((a as YamlMap)['name']).localeCompare(String((b as YamlMap)['name'])))
      : items;
  }
  if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

for (const overlay of OVERLAYS) {
  describe(`when the ${overlay} overlay is rendered`, () => {
    const docs = render(overlay);

    it('should validate every document against the API schemas', () => {
      assert.ok(docs.length >= 25, `only ${docs.length} documents`);
      const problems = docs.flatMap((d) => schemaProblems(d.body).map((p) => `${d.source} ${id(d.body)}: ${p}`));
      assert.deepEqual(problems, []);
    });

    it('should put every namespaced object in the cola namespace', () => {
      const outside = docs.filter((d) => d.body['kind'] !== 'Namespace' && at(d.body, 'metadata.namespace') !== NAMESPACE);
      assert.deepEqual(
        outside.map((d) => id(d.body)),
        [],
      );
    });

    it('should run every container non-root on a read-only root filesystem, with resources', () => {
      const problems: string[] = [];
      for (const { name, spec } of podSpecs(docs)) {
        if (at(spec, 'securityContext.runAsNonRoot') !== true) problems.push(`${name}: securityContext.runAsNonRoot is not true`);
        for (const c of [...maps(spec['initContainers']), ...maps(spec['containers'])]) {
          const where = `${name}/${String(c['name'])}`;
          if (at(c, 'securityContext.readOnlyRootFilesystem') !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
          if (at(c, 'securityContext.allowPrivilegeEscalation') !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
          if (!at(c, 'resources.requests.cpu') || !at(c, 'resources.requests.memory')) problems.push(`${where}: no cpu/memory request`);
          if (!at(c, 'resources.limits.memory')) problems.push(`${where}: no memory limit`);
        }
      }
      assert.deepEqual(problems, []);
    });

    it('should give every workload a PodDisruptionBudget and liveness/readiness probes', () => {
      const pdbs = docs.filter((d) => d.body['kind'] === 'PodDisruptionBudget');
      for (const { name, spec, labels } of podSpecs(docs)) {
        assert.equal(pdbs.filter((p) => selects(at(p.body, 'spec.selector'), labels)).length, 1, `${name}: one PDB selects it`);
        const main = maps(spec['containers']).find((c) => c['name'] === name);
        assert.ok(main?.['livenessProbe'] && main['readinessProbe'], `${name}: liveness and readiness probes`);
      }
      const host = maps(at(find(docs, 'Deployment', 'gpu-host'), 'spec.template.spec.containers'))[0];
      // A wedged host answers /healthz with an error: liveness restarts it.
      assert.equal(at(host, 'livenessProbe.httpGet.path'), '/healthz');
      assert.ok(Number(at(host, 'livenessProbe.failureThreshold')) * Number(at(host, 'livenessProbe.periodSeconds')) <= 60);
      assert.ok(at(host, 'startupProbe.httpGet.path'), 'a startup probe covers the model load');
    });

    it('should admit outside traffic to the gateway only, and Redis traffic from the platform only', () => {
      const policies = docs.filter((d) => d.body['kind'] === 'NetworkPolicy').map((d) => d.body);
      const denyAll = policies.find(
        (p) => Object.keys(stringMap(at(p, 'spec.podSelector.matchLabels'))).length === 0 && !at(p, 'spec.podSelector.matchExpressions'),
      );
      assert.ok(denyAll && maps(at(denyAll, 'spec.ingress')).length === 0, 'a default-deny ingress policy');
      for (const { name, labels } of podSpecs(docs)) {
        const rules: YamlMap[] = policies
          .filter((p) => p !== denyAll && selects(at(p, 'spec.podSelector'), labels))
          .flatMap((p) => maps(at(p, 'spec.ingress')));
        const open: YamlMap[] = rules.filter((r) => !Array.isArray(r['from']) || r['from'].length === 0);
        assert.equal(open.length > 0, name === 'gateway', `${name}: ${open.length} rule(s) open to any source`);
        if (name === 'redis') {
          for (const from of rules.flatMap((r) => maps(r['from']))) {
            const ok =
              stringMap(at(from, 'podSelector.matchLabels'))['app.kubernetes.io/part-of'] === 'cola-ftaas' ||
              stringMap(at(from, 'namespaceSelector.matchLabels'))['kubernetes.io/metadata.name'] === 'keda';
            assert.ok(ok, `redis admits ${JSON.stringify(from)}`);
          }
        }
      }
    });

    it('should persist Redis on a PVC with AOF and noeviction, and take its password from a Secret', () => {
      const redis = find(docs, 'StatefulSet', 'redis');
      assert.ok(redis);
      assert.equal(maps(at(redis, 'spec.volumeClaimTemplates')).length, 1);
      const conf = stringMap(at(find(docs, 'ConfigMap', 'redis-config'), 'data'))['redis.conf'] ?? '';
      assert.match(conf, /^appendonly yes$/m);
      assert.match(conf, /^maxmemory-policy noeviction$/m);
      const c = maps(at(redis, 'spec.template.spec.containers'))[0]!;
      assert.match((c['command'] as string[]).join(' '), /^redis-server \/etc\/redis\/redis\.conf --requirepass \$\(REDIS_PASSWORD\)/);
      const pw = maps(c['env']).find((e) => e['name'] === 'REDIS_PASSWORD');
      assert.equal(at(pw, 'valueFrom.secretKeyRef.name'), 'cola-secrets');
    });

    it('should give every service an environment that its libs/config schema loads', () => {
      for (const service of SERVICES) {
        const env = overlayServiceEnv(docs, service, overlay === 'local' ? undefined : { secretValues: 'placeholder' });
        const spec = SERVICE_SPECS[service]!.config;
        assert.doesNotThrow(() => spec.load(env), `${service}`);
        assert.match(env['REDIS_URL'] ?? '', /^redis:\/\/:[^@]+@redis:6379$/, `${service} dials the redis Service with a password`);
      }
    });

    if (overlay === 'local') {
      it('should hold in its Secret every key the workloads reference', () => {
        const secret = stringMap(at(find(docs, 'Secret', 'cola-secrets'), 'stringData'));
        const refs = JSON.stringify(docs.map((d) => d.body)).match(/"secretKeyRef":\{[^}]*\}/g) ?? [];
        for (const r of refs)
          assert.ok(
            Object.keys(secret).some((k) => r.includes(`"key":"${k}"`)),
            r,
          );
        const trainer = find(docs, 'Deployment', 'aux-trainer');
        assert.equal(at(trainer, 'spec.replicas'), 2);
        assert.equal(
          docs.filter((d) => String(d.body['apiVersion']).includes('keda.sh') || String(d.body['apiVersion']).includes('coreos')).length,
          0,
          'no CRDs needed',
        );
      });
    } else {
      it('should scale the aux-trainers on waiting AND prioritized fit tasks', () => {
        const keys = queueDepthKeys(QUEUES.adapt);
        const so = find(docs, 'ScaledObject', 'aux-trainer');
        const hpa = find(docs, 'HorizontalPodAutoscaler', 'aux-trainer');
        assert.ok((so === undefined) !== (hpa === undefined), 'exactly one autoscaler');
        if (so) {
          assert.deepEqual(
            maps(at(so, 'spec.triggers'))
              .map((t) => at(t, 'metadata.listName'))
              .sort(),
            [keys.prioritized, keys.wait].sort(),
          );
          for (const t of maps(at(so, 'spec.triggers'))) assert.equal(at(t, 'authenticationRef.name'), 'redis');
          const auth = find(docs, 'TriggerAuthentication', 'redis');
          assert.equal(at(maps(at(auth, 'spec.secretTargetRef'))[0], 'name'), 'cola-secrets');
        } else {
          const rules = parse(readFileSync(join(K8S, 'components', 'hpa', 'prometheus-adapter-rules.yaml'), 'utf8')) as YamlMap;
          const rule = maps(rules['externalRules'])[0]!;
          assert.equal(at(rule, 'name.as'), at(maps(at(hpa, 'spec.metrics'))[0], 'external.metric.name'));
          assert.match(String(rule['metricsQuery']), /queue="adapt",state=~"waiting\|prioritized"/);
        }
      });

      it('should monitor every service with a PodMonitor on its metrics port, and carry the alert rules', () => {
        for (const service of SERVICES) {
          const pm = find(docs, 'PodMonitor', service);
          assert.ok(pm, `PodMonitor/${service}`);
          const port = at(maps(at(pm, 'spec.podMetricsEndpoints'))[0], 'port');
          assert.equal(port, SERVICE_SPECS[service]!.metricsPort);
          const main = maps(at(find(docs, 'Deployment', service), 'spec.template.spec.containers'))[0];
          assert.ok(
            maps(main?.['ports']).some((p) => p['name'] === port),
            `${service} has a container port named ${String(port)}`,
          );
        }
        const alerts = parse(readFileSync(join(REPO_ROOT, 'deploy', 'prometheus', 'alerts.yml'), 'utf8')) as YamlMap;
        assert.deepEqual(at(find(docs, 'PrometheusRule', 'cola-ftaas'), 'spec.groups'), alerts['groups']);
      });
    }

    const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
    it('should render exactly what kubectl kustomize renders', { skip: hasKubectl ? false : 'kubectl is not installed' }, () => {
      const res = spawnSync('kubectl', ['kustomize', join(K8S, 'overlays', overlay)], { encoding: 'utf8' });
      assert.equal(res.status, 0, res.stderr);
      const theirs = parseAllDocuments(res.stdout)
        .map((d) => d.toJS() as unknown)
        .filter(isMap);
      const key = (d: YamlMap): string => `${id(d)}`;
      const mine = new Map(docs.map((d) => [key(d.body), normalize(d.body)]));
      assert.deepEqual([...mine.keys()].sort(), theirs.map(key).sort());
      for (const t of theirs) assert.deepEqual(mine.get(key(t)), normalize(t), key(t));
    });
  });
}

describe('when a workload references a Secret key', () => {
  it('should find the same keys in the local Secret as deploy/README.md tells production to create', () => {
    const readme = readFileSync(join(REPO_ROOT, 'deploy', 'README.md'), 'utf8');
    const local = stringMap(at(find(render('local'), 'Secret', 'cola-secrets'), 'stringData'));
    assert.ok(Object.keys(local).length >= 2);
    for (const key of Object.keys(local)) assert.match(readme, new RegExp(`--from-literal=${key}=`), `README creates ${key}`);
  });
});
