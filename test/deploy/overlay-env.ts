/**
 * The environment (and command line) a workload's main container gets from rendered manifests:
 * envFrom ConfigMaps and Secrets, env values with the kubelet's $(NAME) expansion, and
 * configMapKeyRef / secretKeyRef. The overlay tests load it through each service's libs/config
 * schema; the container stack test starts the containers with exactly this environment.
 */
import type { RenderedDoc } from './kustomize-render';
import { at, isMap, maps, stringMap, text, type YamlMap } from './yaml-access';

/** Options for {@link resolveContainer}. */
export interface ResolveOptions {
  /**
   * `placeholder` stands in for Secrets the render does not contain (production creates them
   * itself); by default a missing Secret is an error.
   */
  secretValues?: 'placeholder';
}

/** What a container runs with. */
export interface ResolvedContainer {
  readonly env: Record<string, string>;
  /** `command` then `args`, expanded; empty when the image's own command runs. */
  readonly argv: string[];
}

function secretData(docs: readonly RenderedDoc[], name: string): Record<string, string> | undefined {
  const s = docs.find((d) => d.body['kind'] === 'Secret' && at(d.body, 'metadata.name') === name)?.body;
  if (!s) return undefined;
  const decoded = Object.fromEntries(Object.entries(stringMap(s['data'])).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  return { ...decoded, ...stringMap(s['stringData']) };
}

function configMapData(docs: readonly RenderedDoc[], name: string): Record<string, string> | undefined {
  const c = docs.find((d) => d.body['kind'] === 'ConfigMap' && at(d.body, 'metadata.name') === name)?.body;
  return c ? stringMap(c['data']) : undefined;
}

const expand = (value: string, env: Record<string, string>): string =>
  value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);

/** Resolves the main container (named like the workload) of a Deployment or StatefulSet. */
export function resolveContainer(docs: readonly RenderedDoc[], workload: string, opts: ResolveOptions = {}): ResolvedContainer {
  const doc = docs.find((d) => ['Deployment', 'StatefulSet'].includes(String(d.body['kind'])) && at(d.body, 'metadata.name') === workload);
  if (!doc) throw new Error(`no Deployment or StatefulSet ${workload}`);
  const container = maps(at(doc.body, 'spec.template.spec.containers')).find((c) => c['name'] === workload);
  if (!container) throw new Error(`${workload} has no container named ${workload}`);
  const secret = (name: string): Record<string, string> => {
    const data = secretData(docs, name);
    if (data) return data;
    if (opts.secretValues === 'placeholder') return new Proxy({}, { get: (_t, key) => `placeholder-${String(key)}` });
    throw new Error(`${workload} references Secret ${name}, which the render does not contain`);
  };
  const env: Record<string, string> = {};
  for (const from of maps(container['envFrom'])) {
    const prefix = text(from['prefix']) ?? '';
    const cm = text(at(from, 'configMapRef.name'));
    const sec = text(at(from, 'secretRef.name'));
    const data = cm !== undefined ? configMapData(docs, cm) : sec !== undefined ? secret(sec) : undefined;
    if (!data) throw new Error(`${workload}: envFrom ${JSON.stringify(from)} does not resolve`);
    for (const [k, v] of Object.entries(data)) env[prefix + k] = v;
  }
  for (const e of maps(container['env'])) {
    const name = String(e['name']);
    const value = text(e['value']);
    const cmRef = at(e, 'valueFrom.configMapKeyRef');
    const secRef = at(e, 'valueFrom.secretKeyRef');
    let resolved: string | undefined;
    if (value !== undefined) resolved = expand(value, env);
    else if (isMap(cmRef)) resolved = configMapData(docs, String(cmRef['name']))?.[String(cmRef['key'])];
    else if (isMap(secRef)) resolved = (secret(String(secRef['name'])) as YamlMap)[String(secRef['key'])] as string | undefined;
    if (resolved === undefined) throw new Error(`${workload}: env ${name} does not resolve`);
    env[name] = resolved;
  }
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => expand(String(x), env)) : []);
  return { env, argv: [...list(container['command']), ...list(container['args'])] };
}

/** A service's environment from rendered manifests (see {@link resolveContainer}). */
export function overlayServiceEnv(docs: readonly RenderedDoc[], service: string, opts: ResolveOptions = {}): Record<string, string> {
  return resolveContainer(docs, service, opts).env;
}
