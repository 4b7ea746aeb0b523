/**
 * Consistency checks between the Kubernetes manifests (deploy/k8s) and libs/config, the single
 * source of truth for names that cross process boundaries (docs/design.md section 3).
 *
 * Every check returns a list of problems instead of asserting, so one run reports every
 * disagreement at once, and so the tests can prove each check fires on a broken copy. A problem
 * names the file, the object and the field, then says what was expected and where that comes from.
 */
import { dirname, posix } from 'node:path';
import {
  ENV,
  PORTS,
  QUEUES,
  allDefaultPorts,
  auxTrainerConfig,
  gatewayConfig,
  gpuHostConfig,
  mergerConfig,
  queueDepthKeys,
  type EnvConfig,
  type EnvSpec,
} from '@cola/config';
import { BACKEND_ORDER } from '@cola/gl';
import type { ManifestBundle, ManifestDoc } from './manifest-loader';
import { at, isMap, maps, stringMap, text, type YamlMap } from './yaml-access';

/** A port and the libs/config constant it must equal. */
interface PortRef {
  /** Where the value comes from, for messages, e.g. `PORTS.gatewayHttp`. */
  constant: string;
  /** The value. */
  value: number;
}

/** What the manifests of one of our services must agree with. */
interface ServiceSpec {
  /** The service's validated env config from libs/config (env-vars.ts). */
  config: EnvConfig<EnvSpec>;
  /** Container port name → the constant its number must equal. */
  ports: Record<string, PortRef>;
  /** Name of the container port that serves Prometheus /metrics. */
  metricsPort: string;
  /** Env variable → name of the container port whose number it must hold. */
  portEnv: Record<string, string>;
}

const port = (constant: string, value: number): PortRef => ({ constant, value });

/** Our services, by Deployment name (= apps/ folder = image name). */
export const SERVICE_SPECS: Readonly<Record<string, ServiceSpec>> = {
  gateway: {
    config: gatewayConfig,
    ports: { http: port('PORTS.gatewayHttp', PORTS.gatewayHttp) },
    metricsPort: 'http',
    portEnv: { [ENV.GATEWAY_PORT]: 'http' },
  },
  'gpu-host': {
    config: gpuHostConfig,
    ports: { metrics: port('PORTS.metrics.gpuHost', PORTS.metrics.gpuHost) },
    metricsPort: 'metrics',
    portEnv: { [ENV.METRICS_PORT]: 'metrics' },
  },
  'aux-trainer': {
    config: auxTrainerConfig,
    ports: { metrics: port('PORTS.metrics.auxTrainer', PORTS.metrics.auxTrainer) },
    metricsPort: 'metrics',
    portEnv: { [ENV.METRICS_PORT]: 'metrics' },
  },
  merger: {
    config: mergerConfig,
    ports: {
      grpc: port('PORTS.mergerGrpc', PORTS.mergerGrpc),
      metrics: port('PORTS.metrics.merger', PORTS.metrics.merger),
    },
    metricsPort: 'metrics',
    portEnv: { [ENV.MERGER_GRPC_PORT]: 'grpc', [ENV.METRICS_PORT]: 'metrics' },
  },
};

/** The Redis workload's name and ports. */
export const REDIS_WORKLOAD = 'redis';
const REDIS_PORTS: Record<string, PortRef> = { redis: port('PORTS.redis', PORTS.redis) };

/**
 * Variables read by a library in every process rather than by the service's own config (so
 * they are not in its spec), with a check of their value.
 */
const LIBRARY_ENV: Readonly<Record<string, { readBy: string; valid: readonly string[] }>> = {
  [ENV.COLA_BACKEND]: { readBy: "@cola/gl's initBackend", valid: BACKEND_ORDER },
};

/** The image every service Deployment must run (placeholders until a registry is chosen). */
export const imageOf = (service: string): string => `ghcr.io/cola-ftaas/${service}:latest`;

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet']);
const ENV_NAMES = new Set<string>(Object.values(ENV));

const where = (doc: ManifestDoc, field: string): string => `${doc.file} ${doc.kind}/${doc.name}: ${field}`;

/** Deployments and StatefulSets. */
export function workloads(bundle: ManifestBundle): ManifestDoc[] {
  return bundle.docs.filter((d) => WORKLOAD_KINDS.has(d.kind));
}

function findDoc(bundle: ManifestBundle, kind: string, name: string): ManifestDoc | undefined {
  return bundle.docs.find((d) => d.kind === kind && d.name === name);
}

/** The container named like its workload (the service's own container). */
function mainContainer(doc: ManifestDoc): YamlMap | undefined {
  return maps(at(doc.body, 'spec.template.spec.containers')).find((c) => c['name'] === doc.name);
}

function expectedPortsOf(name: string): Record<string, PortRef> | undefined {
  return name === REDIS_WORKLOAD ? REDIS_PORTS : SERVICE_SPECS[name]?.ports;
}

/** containerPort numbers of a workload's main container by port name. */
function containerPorts(doc: ManifestDoc): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of maps(mainContainer(doc)?.['ports'])) {
    const name = text(p['name']);
    const n = p['containerPort'];
    if (name !== undefined && typeof n === 'number') out.set(name, n);
  }
  return out;
}

/** The workloads whose pod labels satisfy a Service selector. */
function selectedWorkloads(bundle: ManifestBundle, service: ManifestDoc): ManifestDoc[] {
  const selector = stringMap(at(service.body, 'spec.selector'));
  if (Object.keys(selector).length === 0) return [];
  return workloads(bundle).filter((w) => {
    const labels = stringMap(at(w.body, 'spec.template.metadata.labels'));
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
  });
}

/** kustomization: every manifest file is listed, every listed file exists, one namespace. */
export function checkKustomization(bundle: ManifestBundle): string[] {
  const problems: string[] = [];
  const k = `${bundle.dir}/kustomization.yaml`;
  for (const f of bundle.yamlFiles) {
    if (!bundle.resources.includes(f)) problems.push(`${k}: resources does not list ${f}; add it or the file is never applied`);
  }
  for (const r of bundle.resources) {
    if (!bundle.yamlFiles.includes(r)) problems.push(`${k}: resources lists ${r}, which is not a file of ${bundle.dir}`);
  }
  const namespace = text(bundle.kustomization['namespace']);
  if (!namespace) problems.push(`${k}: namespace is not set; every resource must land in one namespace`);
  else if (!findDoc(bundle, 'Namespace', namespace)) problems.push(`${k}: namespace ${namespace} has no Namespace manifest`);
  return problems;
}

/**
 * Ports: every container port, probe port and Service port equals its PORTS constant, and no
 * stray port number appears anywhere.
 */
export function checkPorts(bundle: ManifestBundle): string[] {
  const problems: string[] = [];
  for (const doc of workloads(bundle)) {
    const expected = expectedPortsOf(doc.name);
    if (!expected) {
      problems.push(
        where(
          doc,
          `is not a known service: add it to SERVICE_SPECS in test/deploy/manifest-checks.ts (and its ports to libs/config PORTS)`,
        ),
      );
      continue;
    }
    const container = mainContainer(doc);
    if (!container) {
      problems.push(where(doc, `spec.template.spec.containers has no container named ${doc.name}`));
      continue;
    }
    const field = `spec.template.spec.containers[${doc.name}]`;
    const declared = new Set<string>();
    for (const p of maps(container['ports'])) {
      const name = text(p['name']);
      if (name === undefined) {
        problems.push(where(doc, `${field}.ports has a port without a name; name it (${Object.keys(expected).join(', ')})`));
        continue;
      }
      declared.add(name);
      const ref = expected[name];
      if (!ref) {
        problems.push(
          where(doc, `${field}.ports[${name}] is not a port of ${doc.name}; expected only ${Object.keys(expected).join(', ')}`),
        );
      } else if (p['containerPort'] !== ref.value) {
        problems.push(
          where(doc, `${field}.ports[${name}].containerPort is ${String(p['containerPort'])}, expected ${ref.constant} = ${ref.value}`),
        );
      }
    }
    for (const name of Object.keys(expected)) {
      if (!declared.has(name)) problems.push(where(doc, `${field}.ports has no port named ${name} (${expected[name]!.constant})`));
    }
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      for (const handler of ['httpGet', 'tcpSocket', 'grpc']) {
        const value = at(container[probe], `${handler}.port`);
        if (value === undefined) continue;
        const ok = typeof value === 'string' ? declared.has(value) : Object.values(expected).some((r) => r.value === value);
        if (!ok)
          problems.push(where(doc, `${field}.${probe}.${handler}.port is ${String(value)}, which is not a declared port of ${doc.name}`));
      }
    }
  }
  for (const service of bundle.docs.filter((d) => d.kind === 'Service')) {
    const selected = selectedWorkloads(bundle, service);
    if (selected.length !== 1) {
      problems.push(
        where(
          service,
          `spec.selector matches ${selected.length} workloads (${selected.map((w) => w.name).join(', ') || 'none'}), expected exactly one`,
        ),
      );
      continue;
    }
    const target = selected[0]!;
    const byName = containerPorts(target);
    const expected = expectedPortsOf(target.name) ?? {};
    for (const p of maps(at(service.body, 'spec.ports'))) {
      const label = `spec.ports[${text(p['name']) ?? '?'}]`;
      const tp = p['targetPort'] ?? p['port'];
      const portName = typeof tp === 'string' ? tp : [...byName.entries()].find(([, n]) => n === tp)?.[0];
      if (portName === undefined || !byName.has(portName)) {
        problems.push(where(service, `${label}.targetPort ${String(tp)} is not a container port of ${target.kind}/${target.name}`));
        continue;
      }
      const ref = expected[portName];
      if (ref && p['port'] !== ref.value) {
        problems.push(
          where(service, `${label}.port is ${String(p['port'])}, expected ${ref.constant} = ${ref.value} (the port clients dial)`),
        );
      }
    }
  }
  const known = new Map(Object.entries(allDefaultPorts()).map(([k, v]) => [v, k]));
  for (const doc of bundle.docs) {
    walk(doc.body, '', (path, key, value) => {
      if (['containerPort', 'port', 'targetPort', 'hostPort', 'nodePort'].includes(key) && typeof value === 'number' && !known.has(value)) {
        problems.push(where(doc, `${path} is ${value}, which is none of libs/config PORTS (${[...known.keys()].join(', ')})`));
      }
    });
  }
  return problems;
}

function walk(value: unknown, path: string, visit: (path: string, key: string, value: unknown) => void): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${path}[${isMap(v) && typeof v['name'] === 'string' ? v['name'] : i}]`, visit));
  } else if (isMap(value)) {
    for (const [key, v] of Object.entries(value)) {
      const p = path ? `${path}.${key}` : key;
      visit(p, key, v);
      walk(v, p, visit);
    }
  }
}

/** The environment a workload's main container gets: names in order and resolvable values. */
export interface ResolvedEnv {
  /** Every variable name set, with the field that sets it. */
  names: { name: string; field: string }[];
  /** Values known from the manifests (Secrets and fieldRefs are not). */
  values: Record<string, string>;
  /** References that do not resolve (missing ConfigMap or key). */
  problems: string[];
  /**
   * Variables taken from a Secret only so that the kubelet expands them (`$(NAME)`) into another
   * variable's value, e.g. the Redis password into REDIS_URL. No service reads them.
   */
  expansionOnly: Set<string>;
}

/** Stands in for a Secret's value, which the manifests do not hold. */
const secretPlaceholder = (name: string): string => `secret-${name.toLowerCase().replace(/_/g, '-')}`;

/** Resolves envFrom ConfigMaps and env entries of a workload's main container. */
export function resolveEnv(bundle: ManifestBundle, doc: ManifestDoc): ResolvedEnv {
  const out: ResolvedEnv = { names: [], values: {}, problems: [], expansionOnly: new Set() };
  const fromSecret = new Set<string>();
  const container = mainContainer(doc);
  const field = `spec.template.spec.containers[${doc.name}]`;
  const configMap = (name: string): Record<string, string> | undefined => {
    const cm = findDoc(bundle, 'ConfigMap', name);
    return cm ? stringMap(cm.body['data']) : undefined;
  };
  for (const from of maps(container?.['envFrom'])) {
    const ref = text(at(from, 'configMapRef.name'));
    if (ref === undefined) continue; // secretRef: keys unknown here
    const data = configMap(ref);
    if (!data) {
      out.problems.push(where(doc, `${field}.envFrom references ConfigMap ${ref}, which no manifest defines`));
      continue;
    }
    const prefix = text(from['prefix']) ?? '';
    for (const [key, value] of Object.entries(data)) {
      out.names.push({ name: prefix + key, field: `${field}.envFrom[ConfigMap ${ref}].${key}` });
      out.values[prefix + key] = value;
    }
  }
  for (const e of maps(container?.['env'])) {
    const name = text(e['name']) ?? '';
    out.names.push({ name, field: `${field}.env[${name}]` });
    const value = text(e['value']);
    const cmRef = at(e, 'valueFrom.configMapKeyRef');
    if (isMap(at(e, 'valueFrom.secretKeyRef'))) fromSecret.add(name);
    if (value !== undefined) {
      // The kubelet expands $(NAME) of variables defined before this one.
      out.values[name] = value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, ref: string) => {
        if (fromSecret.has(ref)) {
          out.expansionOnly.add(ref);
          return secretPlaceholder(ref);
        }
        return out.values[ref] ?? whole;
      });
    } else if (isMap(cmRef)) {
      const data = configMap(text(cmRef['name']) ?? '');
      const v = data?.[text(cmRef['key']) ?? ''];
      if (v === undefined)
        out.problems.push(
          where(
            doc,
            `${field}.env[${name}] references ConfigMap key ${String(cmRef['name'])}/${String(cmRef['key'])}, which does not exist`,
          ),
        );
      else out.values[name] = v;
    }
  }
  return out;
}

/** The Service of this bundle that a host name (short, `<svc>.<ns>.svc` or FQDN) designates. */
function serviceByHost(bundle: ManifestBundle, host: string): ManifestDoc | undefined {
  const namespace = text(bundle.kustomization['namespace']);
  const [name, ns, ...rest] = host.split('.');
  if (ns !== undefined && (ns !== namespace || !['svc', 'svc.cluster.local'].includes(rest.join('.')))) return undefined;
  return findDoc(bundle, 'Service', name ?? '');
}

/**
 * Checks that `host:port` reaches the given container port of `workload` through a Service of
 * the bundle; returns the problem, if any.
 */
function checkAddress(
  bundle: ManifestBundle,
  doc: ManifestDoc,
  field: string,
  host: string,
  portNumber: number,
  workload: string,
  portRef: PortRef,
): string | undefined {
  const service = serviceByHost(bundle, host);
  if (!service)
    return where(
      doc,
      `${field} dials host ${host}, which is no Service of ${bundle.dir} in namespace ${String(bundle.kustomization['namespace'])}`,
    );
  const selected = selectedWorkloads(bundle, service);
  if (!selected.some((w) => w.name === workload))
    return where(doc, `${field} dials Service ${service.name}, which does not select ${workload}`);
  if (portNumber !== portRef.value) return where(doc, `${field} dials port ${portNumber}, expected ${portRef.constant} = ${portRef.value}`);
  if (!maps(at(service.body, 'spec.ports')).some((p) => p['port'] === portNumber)) {
    return where(doc, `${field} dials port ${portNumber}, which Service ${service.name} does not expose`);
  }
  return undefined;
}

/** REDIS_URL's host, port and database, or a reason it cannot be used. */
function parseRedisUrl(raw: string): { host: string; port: number; db: number } | string {
  try {
    const u = new URL(raw);
    const db = u.pathname.replace(/^\//, '');
    return { host: u.hostname, port: u.port === '' ? PORTS.redis : Number(u.port), db: db === '' ? 0 : Number(db) };
  } catch {
    return `${raw} is not a URL`;
  }
}

/** The REDIS_URL a service Deployment loads, or `undefined` when its env does not load (see checkEnv). */
function loadedRedisUrl(bundle: ManifestBundle, doc: ManifestDoc): ReturnType<typeof parseRedisUrl> | undefined {
  try {
    return parseRedisUrl(String(SERVICE_SPECS[doc.name]?.config.load(resolveEnv(bundle, doc).values)[ENV.REDIS_URL]));
  } catch {
    return undefined;
  }
}

/**
 * Env: every variable name a service gets exists in libs/config ENV and is read by that
 * service; the values load through the service's own validated config; port variables equal
 * the container ports; REDIS_URL and MERGER_ADDRESS dial the right Service and port.
 */
export function checkEnv(bundle: ManifestBundle): string[] {
  const problems: string[] = [];
  for (const doc of workloads(bundle)) {
    const spec = SERVICE_SPECS[doc.name];
    if (!spec) {
      // Another workload (Redis) may take a Secret only to expand it into its own command line.
      const command = JSON.stringify([mainContainer(doc)?.['command'], mainContainer(doc)?.['args']]);
      for (const e of maps(mainContainer(doc)?.['env'])) {
        if (command.includes(`$(${String(e['name'])})`)) continue;
        problems.push(where(doc, `env[${String(e['name'])}] is set on a workload that is not one of our services`));
      }
      continue;
    }
    const env = resolveEnv(bundle, doc);
    problems.push(...env.problems);
    for (const { name, field } of env.names) {
      if (env.expansionOnly.has(name)) continue;
      if (!ENV_NAMES.has(name)) {
        problems.push(
          where(
            doc,
            `${field}: ${name} is not an env variable of libs/config (ENV in libs/config/src/env-vars.ts); known: ${[...ENV_NAMES].join(', ')}`,
          ),
        );
      } else if (!(name in spec.config.spec) && !LIBRARY_ENV[name]) {
        problems.push(
          where(doc, `${field}: ${name} is not read by ${doc.name} (not in its config spec in libs/config/src/env-vars.ts); remove it`),
        );
      }
    }
    for (const [name, lib] of Object.entries(LIBRARY_ENV)) {
      const value = env.values[name];
      if (value !== undefined && !lib.valid.includes(value)) {
        problems.push(where(doc, `env ${name}=${value} is rejected by ${lib.readBy}; use one of ${lib.valid.join(', ')}`));
      }
    }
    let loaded: Record<string, unknown>;
    try {
      loaded = spec.config.load(env.values);
    } catch (err) {
      problems.push(where(doc, `its environment does not load through libs/config: ${err instanceof Error ? err.message : String(err)}`));
      continue;
    }
    const ports = containerPorts(doc);
    for (const [name, portName] of Object.entries(spec.portEnv)) {
      if (loaded[name] !== ports.get(portName)) {
        problems.push(
          where(
            doc,
            `env ${name} resolves to ${String(loaded[name])}, but containerPort ${portName} is ${String(ports.get(portName))}: the process would listen where nothing routes`,
          ),
        );
      }
    }
    const setBy = (name: string): string =>
      `env ${name} (${env.names.filter((n) => n.name === name).pop()?.field ?? 'unset: the libs/config default'})`;
    const redis = parseRedisUrl(String(loaded[ENV.REDIS_URL]));
    if (typeof redis === 'string') problems.push(where(doc, `${setBy(ENV.REDIS_URL)}: ${redis}`));
    else {
      const p = checkAddress(bundle, doc, setBy(ENV.REDIS_URL), redis.host, redis.port, REDIS_WORKLOAD, REDIS_PORTS['redis']!);
      if (p) problems.push(p);
    }
    if (ENV.MERGER_ADDRESS in spec.config.spec) {
      const raw = String(loaded[ENV.MERGER_ADDRESS]);
      const m = /^([^:]+):(\d+)$/.exec(raw);
      if (!m) problems.push(where(doc, `${setBy(ENV.MERGER_ADDRESS)}=${raw} is not host:port`));
      else {
        const p = checkAddress(
          bundle,
          doc,
          setBy(ENV.MERGER_ADDRESS),
          m[1]!,
          Number(m[2]),
          'merger',
          SERVICE_SPECS['merger']!.ports['grpc']!,
        );
        if (p) problems.push(p);
      }
    }
  }
  return problems;
}

/**
 * Prometheus: every pod template says whether it is scraped; our services are, on the port that
 * serves /metrics, which equals their PORTS constant.
 */
export function checkPrometheus(bundle: ManifestBundle): string[] {
  const problems: string[] = [];
  for (const doc of workloads(bundle)) {
    const a = stringMap(at(doc.body, 'spec.template.metadata.annotations'));
    const field = 'spec.template.metadata.annotations';
    const spec = SERVICE_SPECS[doc.name];
    if (!spec) {
      if (a['prometheus.io/scrape'] === undefined) {
        problems.push(where(doc, `${field} has no prometheus.io/scrape; set "true" with port and path, or "false" on purpose`));
      }
      continue;
    }
    const ref = spec.ports[spec.metricsPort]!;
    if (a['prometheus.io/scrape'] !== 'true')
      problems.push(where(doc, `${field}."prometheus.io/scrape" is ${String(a['prometheus.io/scrape'])}, expected "true"`));
    if (a['prometheus.io/port'] !== String(ref.value)) {
      problems.push(
        where(
          doc,
          `${field}."prometheus.io/port" is ${String(a['prometheus.io/port'])}, expected "${ref.value}" (${ref.constant}, the port serving /metrics)`,
        ),
      );
    }
    if (a['prometheus.io/path'] !== '/metrics')
      problems.push(where(doc, `${field}."prometheus.io/path" is ${String(a['prometheus.io/path'])}, expected /metrics`));
  }
  return problems;
}

/**
 * KEDA: the aux-trainer ScaledObject reads exactly the keys queueDepthKeys(QUEUES.adapt) returns
 * (waiting AND prioritized), on the Redis the services use, and sums them.
 */
export function checkKeda(bundle: ManifestBundle): string[] {
  const problems: string[] = [];
  const scaled = bundle.docs.filter((d) => d.kind === 'ScaledObject' && text(at(d.body, 'spec.scaleTargetRef.name')) === 'aux-trainer');
  if (scaled.length !== 1) return [`${bundle.dir}: ${scaled.length} ScaledObjects target Deployment aux-trainer, expected exactly one`];
  const so = scaled[0]!;
  const keys = queueDepthKeys(QUEUES.adapt);
  const expected: Record<string, string> = {
    [keys.wait]: 'queueDepthKeys(QUEUES.adapt).wait',
    [keys.prioritized]: 'queueDepthKeys(QUEUES.adapt).prioritized',
  };
  const triggers = maps(at(so.body, 'spec.triggers'));
  const redisTriggers = triggers.filter((t) => t['type'] === 'redis');
  const triggerOf: Record<string, string> = {};
  const namespace = text(bundle.kustomization['namespace']);
  const trainer = findDoc(bundle, 'Deployment', 'aux-trainer');
  const redisUrl = trainer ? loadedRedisUrl(bundle, trainer) : undefined;
  for (const t of redisTriggers) {
    const name = text(t['name']);
    const listName = text(at(t, 'metadata.listName')) ?? '';
    const field = `spec.triggers[${name ?? listName}]`;
    if (!name) problems.push(where(so, `${field}.name is not set; the scalingModifiers formula refers to triggers by name`));
    if (!(listName in expected)) {
      problems.push(
        where(
          so,
          `${field}.metadata.listName is ${listName}, which is not one of queueDepthKeys(QUEUES.adapt): ${Object.keys(expected).join(', ')}`,
        ),
      );
    } else if (triggerOf[listName]) {
      problems.push(where(so, `${field}.metadata.listName ${listName} is read twice; it would be counted twice`));
    } else triggerOf[listName] = name ?? '';
    const address = text(at(t, 'metadata.address'));
    const host = text(at(t, 'metadata.host')) ?? address?.split(':')[0];
    const portText = text(at(t, 'metadata.port')) ?? address?.split(':')[1];
    if (!host || !portText) {
      problems.push(where(so, `${field}.metadata has no host and port (or address); KEDA would dial its default Redis`));
      continue;
    }
    if (!host.includes('.')) {
      problems.push(
        where(
          so,
          `${field}.metadata.host ${host} is a short name; KEDA's operator runs in its own namespace, use ${host}.${String(namespace)}.svc.cluster.local`,
        ),
      );
    }
    const p = checkAddress(bundle, so, `${field}.metadata`, host, Number(portText), REDIS_WORKLOAD, REDIS_PORTS['redis']!);
    if (p) problems.push(p);
    const db = Number(text(at(t, 'metadata.databaseIndex')) ?? '0');
    if (redisUrl && typeof redisUrl !== 'string' && db !== redisUrl.db) {
      problems.push(where(so, `${field}.metadata.databaseIndex is ${db}, but the aux-trainer's REDIS_URL uses database ${redisUrl.db}`));
    }
  }
  for (const [key, source] of Object.entries(expected)) {
    if (!(key in triggerOf))
      problems.push(
        where(
          so,
          `spec.triggers has no redis trigger with listName ${key} (${source}); autoscaling must count waiting AND prioritized jobs`,
        ),
      );
  }
  const wait = triggerOf[keys.wait];
  const prioritized = triggerOf[keys.prioritized];
  const modifiers = at(so.body, 'spec.advanced.scalingModifiers');
  const formula = (text(at(modifiers, 'formula')) ?? '').replace(/\s+/g, '');
  if (wait && prioritized && formula !== `${wait}+${prioritized}` && formula !== `${prioritized}+${wait}`) {
    problems.push(
      where(
        so,
        `spec.advanced.scalingModifiers.formula is "${formula}", expected "${wait} + ${prioritized}": several triggers without a sum scale on the max of the two, not the total depth`,
      ),
    );
  }
  const metricType = text(at(modifiers, 'metricType')) ?? 'AverageValue';
  if (metricType !== 'AverageValue')
    problems.push(
      where(so, `spec.advanced.scalingModifiers.metricType is ${metricType}, expected AverageValue (queued tasks per replica)`),
    );
  if (!(Number(text(at(modifiers, 'target'))) > 0))
    problems.push(where(so, `spec.advanced.scalingModifiers.target must be a positive number of queued tasks per replica`));
  const min = Number(at(so.body, 'spec.minReplicaCount') ?? 0);
  const max = Number(at(so.body, 'spec.maxReplicaCount') ?? 100);
  if (!(min >= 2)) problems.push(where(so, `spec.minReplicaCount is ${min}; aux-trainer runs several replicas (at least 2)`));
  if (!(max >= min)) problems.push(where(so, `spec.maxReplicaCount ${max} is below minReplicaCount ${min}`));
  if (trainer && at(trainer.body, 'spec.replicas') !== undefined) {
    problems.push(where(trainer, `spec.replicas is set; the ScaledObject owns the replica count and kubectl apply would reset it`));
  }
  return problems;
}

/** Redis memory units (redis.conf): 1k = 1000, 1kb = 1024, and so on. */
export function parseRedisBytes(raw: string): number | undefined {
  const m = /^(\d+)(k|kb|m|mb|g|gb)?$/i.exec(raw.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const factor: Record<string, number> = { '': 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  return Number(m[1]) * factor[unit]!;
}

/** Kubernetes quantities (resources.limits.memory). */
export function parseQuantity(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(raw.trim());
  if (!m) return undefined;
  const factor: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * factor[m[2] ?? '']!;
}

/** The redis.conf the Redis StatefulSet starts with, found through its command and mounts. */
export interface RedisConf {
  /** The StatefulSet. */
  doc: ManifestDoc;
  /** The ConfigMap holding the file. */
  configMap: ManifestDoc;
  /** The file's text. */
  text: string;
  /** Directives (last one wins, as in Redis). */
  directives: Map<string, string>;
}

/** Locates and parses the redis.conf of the Redis StatefulSet; a string says why it cannot. */
export function findRedisConf(bundle: ManifestBundle): RedisConf | string {
  const doc = findDoc(bundle, 'StatefulSet', REDIS_WORKLOAD);
  if (!doc) return `${bundle.dir}: no StatefulSet/${REDIS_WORKLOAD}`;
  const container = mainContainer(doc);
  const args = [...((container?.['command'] as unknown[]) ?? []), ...((container?.['args'] as unknown[]) ?? [])].map((a) => text(a) ?? '');
  const confPath = args.find((a) => a.endsWith('.conf'));
  if (!confPath) return where(doc, `containers[redis] command/args name no .conf file; Redis would start with its defaults`);
  const mount = maps(container?.['volumeMounts']).find((m) => m['mountPath'] === dirname(confPath));
  const volume = maps(at(doc.body, 'spec.template.spec.volumes')).find((v) => v['name'] === mount?.['name']);
  const cmName = text(at(volume, 'configMap.name'));
  const configMap = cmName ? findDoc(bundle, 'ConfigMap', cmName) : undefined;
  if (!configMap) return where(doc, `${confPath} is not mounted from a ConfigMap of ${bundle.dir}`);
  const key = maps(at(volume, 'configMap.items')).find((i) => i['path'] === posix.basename(confPath))?.['key'] ?? posix.basename(confPath);
  const confText = stringMap(configMap.body['data'])[String(key)];
  if (confText === undefined) return where(configMap, `data has no key ${String(key)} (mounted as ${confPath})`);
  const directives = new Map<string, string>();
  for (const line of confText.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [name, ...rest] = t.split(/\s+/);
    directives.set(name!.toLowerCase(), rest.join(' '));
  }
  return { doc, configMap, text: confText, directives };
}

/**
 * Redis: production settings of docs/design.md section 2 (AOF, maxmemory with noeviction) on a
 * persistent volume, with maxmemory below the container's memory limit.
 */
export function checkRedis(bundle: ManifestBundle): string[] {
  const conf = findRedisConf(bundle);
  if (typeof conf === 'string') return [conf];
  const problems: string[] = [];
  const d = conf.directives;
  const cm = (field: string): string => where(conf.configMap, `data."redis.conf" ${field}`);
  if (d.get('appendonly') !== 'yes') problems.push(cm(`appendonly is ${String(d.get('appendonly'))}, expected yes (AOF persistence)`));
  if (d.get('maxmemory-policy') !== 'noeviction') {
    problems.push(
      cm(
        `maxmemory-policy is ${String(d.get('maxmemory-policy'))}, expected noeviction (evicting would silently drop jobs and aux versions)`,
      ),
    );
  }
  const maxmemory = parseRedisBytes(d.get('maxmemory') ?? '');
  const container = mainContainer(conf.doc);
  const limit = parseQuantity(text(at(container, 'resources.limits.memory')) ?? '');
  if (!maxmemory)
    problems.push(
      cm(`maxmemory is ${String(d.get('maxmemory'))}, expected a positive size (unset = unlimited, then the OOM killer decides)`),
    );
  if (limit === undefined) problems.push(where(conf.doc, `containers[redis].resources.limits.memory is not set`));
  else if (maxmemory && maxmemory >= limit) {
    problems.push(
      cm(
        `maxmemory ${String(d.get('maxmemory'))} is not below the container memory limit ${String(at(container, 'resources.limits.memory'))}: the OOM killer would act before noeviction`,
      ),
    );
  }
  const portValue = d.get('port');
  if (portValue !== undefined && Number(portValue) !== PORTS.redis)
    problems.push(cm(`port is ${portValue}, expected PORTS.redis = ${PORTS.redis}`));
  const claims = maps(at(conf.doc.body, 'spec.volumeClaimTemplates'));
  const dataMount = maps(container?.['volumeMounts']).find((m) => claims.some((c) => at(c, 'metadata.name') === m['name']));
  if (!dataMount)
    problems.push(where(conf.doc, `no volumeClaimTemplate is mounted into containers[redis]; the AOF would die with the pod`));
  else if (d.get('dir') !== dataMount['mountPath']) {
    problems.push(cm(`dir is ${String(d.get('dir'))}, expected ${String(dataMount['mountPath'])} (the PersistentVolumeClaim's mount)`));
  }
  for (const c of claims) {
    if (!text(at(c, 'spec.resources.requests.storage')))
      problems.push(where(conf.doc, `volumeClaimTemplates[${String(at(c, 'metadata.name'))}] requests no storage`));
  }
  return problems;
}

/** Per-service requirements: images, probes, resources, GPU scheduling, graceful shutdown. */
export function checkWorkloads(bundle: ManifestBundle): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(SERVICE_SPECS)) {
    if (!findDoc(bundle, 'Deployment', name)) problems.push(`${bundle.dir}: no Deployment/${name}`);
  }
  for (const doc of workloads(bundle)) {
    const c = mainContainer(doc);
    if (!c) continue; // reported by checkPorts
    const field = `spec.template.spec.containers[${doc.name}]`;
    if (!isMap(c['readinessProbe'])) problems.push(where(doc, `${field}.readinessProbe is missing`));
    if (!isMap(c['livenessProbe'])) problems.push(where(doc, `${field}.livenessProbe is missing`));
    if (!isMap(at(c, 'resources.requests'))) problems.push(where(doc, `${field}.resources.requests is missing`));
    if (!SERVICE_SPECS[doc.name]) continue;
    if (c['image'] !== imageOf(doc.name))
      problems.push(where(doc, `${field}.image is ${String(c['image'])}, expected ${imageOf(doc.name)}`));
  }
  const gateway = findDoc(bundle, 'Deployment', 'gateway');
  const g = gateway && mainContainer(gateway);
  if (gateway && g) {
    for (const [probe, path] of [
      ['readinessProbe', '/readyz'],
      ['livenessProbe', '/healthz'],
    ] as const) {
      if (at(g, `${probe}.httpGet.path`) !== path || at(g, `${probe}.httpGet.port`) !== 'http') {
        problems.push(where(gateway, `containers[gateway].${probe} must be httpGet ${path} on port http`));
      }
    }
  }
  const host = findDoc(bundle, 'Deployment', 'gpu-host');
  const h = host && mainContainer(host);
  if (host && h) {
    for (const part of ['requests', 'limits']) {
      const gpus = at(h, `resources.${part}`);
      if (!isMap(gpus) || String(gpus['nvidia.com/gpu']) !== '1')
        problems.push(where(host, `containers[gpu-host].resources.${part}."nvidia.com/gpu" must be 1`));
    }
    const pod = at(host.body, 'spec.template.spec');
    if (!isMap(at(pod, 'nodeSelector')) && !isMap(at(pod, 'affinity')))
      problems.push(where(host, `spec.template.spec has no nodeSelector or affinity for GPU nodes`));
    if (!maps(at(pod, 'tolerations')).some((t) => t['key'] === 'nvidia.com/gpu'))
      problems.push(where(host, `spec.template.spec.tolerations does not tolerate the nvidia.com/gpu taint`));
  }
  const trainer = findDoc(bundle, 'Deployment', 'aux-trainer');
  if (trainer) {
    const grace = at(trainer.body, 'spec.template.spec.terminationGracePeriodSeconds');
    if (!(typeof grace === 'number' && grace >= 60)) {
      problems.push(
        where(
          trainer,
          `spec.template.spec.terminationGracePeriodSeconds is ${String(grace)}; give SIGTERM at least 60 s to let the current fit task finish`,
        ),
      );
    }
    if (maps(at(trainer.body, 'spec.template.spec.volumes')).some((v) => isMap(v['persistentVolumeClaim']))) {
      problems.push(
        where(
          trainer,
          `spec.template.spec.volumes mounts a PersistentVolumeClaim; aux-trainer must stay stateless (its state lives in Redis)`,
        ),
      );
    }
  }
  return problems;
}
