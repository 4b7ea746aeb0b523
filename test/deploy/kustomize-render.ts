/**
 * A small kustomize: renders deploy/k8s overlays in-process, so the schema tests run on machines
 * without kubectl. It implements exactly the fields our kustomizations use (resources,
 * components, namespace, replicas, strategic-merge patches) and throws on any other field, so
 * a kustomization that grows a feature fails loudly here instead of rendering wrong. Where
 * kubectl is installed, test/deploy compares this output with `kubectl kustomize`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isMap, text, type YamlMap } from './yaml-access';

/** One rendered object and the file it came from (repository-relative). */
export interface RenderedDoc {
  readonly source: string;
  readonly body: YamlMap;
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'components', 'namespace', 'replicas', 'patches']);
/** Kinds without a namespace among those we use. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'StorageClass',
  'PriorityClass',
  'CustomResourceDefinition',
]);

function readYaml(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${path}: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as unknown;
    })
    .filter((d) => d !== null && d !== undefined);
}

function kustomizationOf(dir: string): YamlMap {
  const path = join(dir, 'kustomization.yaml');
  if (!existsSync(path)) throw new Error(`${dir}: no kustomization.yaml`);
  const k = readYaml(path)[0];
  if (!isMap(k)) throw new Error(`${path}: not a mapping`);
  const unknown = Object.keys(k).filter((f) => !SUPPORTED.has(f));
  if (unknown.length > 0) throw new Error(`${path}: fields ${unknown.join(', ')} are not supported by test/deploy/kustomize-render.ts`);
  return k;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => String(x)) : []);
const clone = <T>(v: T): T => structuredClone(v);

function nameOf(doc: YamlMap): string {
  return text(isMap(doc['metadata']) ? doc['metadata']['name'] : undefined) ?? '';
}

function isNamedList(v: unknown): v is YamlMap[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => isMap(x) && typeof x['name'] === 'string');
}

/**
 * Strategic merge as kustomize applies it to our patches: maps merge key by key, `null` deletes
 * a key, lists of named maps merge by `name` (patch items first, then the remaining base items,
 * as kustomize orders them), any other value replaces.
 */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isMap(base) && isMap(patch)) {
    const out: YamlMap = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = strategicMerge(base[k], v);
    }
    return out;
  }
  if (isNamedList(base) && isNamedList(patch)) {
    const merged = patch.map((p) => {
      const b = base.find((x) => x['name'] === p['name']);
      return b ? (strategicMerge(b, p) as YamlMap) : clone(p);
    });
    const patched = new Set(patch.map((p) => p['name']));
    return [...merged, ...base.filter((b) => !patched.has(b['name'])).map(clone)];
  }
  return clone(patch);
}

function applyPatches(docs: RenderedDoc[], k: YamlMap, dir: string): RenderedDoc[] {
  let out = docs;
  for (const p of Array.isArray(k['patches']) ? k['patches'] : []) {
    if (!isMap(p) || typeof p['path'] !== 'string' || Object.keys(p).length !== 1) {
      throw new Error(`${dir}: only \`patches: - path: <file>\` (strategic merge, target from the patch) is supported`);
    }
    for (const patch of readYaml(join(dir, p['path']))) {
      if (!isMap(patch)) throw new Error(`${join(dir, p['path'])}: a patch is not a mapping`);
      let hit = false;
      out = out.map((d) => {
        if (d.body['kind'] !== patch['kind'] || nameOf(d.body) !== nameOf(patch)) return d;
        hit = true;
        return { source: d.source, body: strategicMerge(d.body, patch) as YamlMap };
      });
      if (!hit) throw new Error(`${join(dir, p['path'])}: no resource ${String(patch['kind'])}/${nameOf(patch)} to patch`);
    }
  }
  return out;
}

function applyReplicas(docs: RenderedDoc[], k: YamlMap, dir: string): RenderedDoc[] {
  let out = docs;
  for (const r of Array.isArray(k['replicas']) ? k['replicas'] : []) {
    if (!isMap(r)) continue;
    let hit = false;
    out = out.map((d) => {
      if (!['Deployment', 'StatefulSet'].includes(String(d.body['kind'])) || nameOf(d.body) !== r['name']) return d;
      hit = true;
      const body = clone(d.body);
      (body['spec'] as YamlMap)['replicas'] = r['count'];
      return { source: d.source, body };
    });
    if (!hit) throw new Error(`${dir}: replicas names ${String(r['name'])}, which no Deployment or StatefulSet has`);
  }
  return out;
}

function loadResources(k: YamlMap, dir: string, root: string): RenderedDoc[] {
  return strings(k['resources']).flatMap((r) => {
    const path = join(dir, r);
    if (statSync(path).isDirectory()) return build(path, root);
    return readYaml(path).map((body) => {
      if (!isMap(body)) throw new Error(`${path}: a document is not a mapping`);
      return { source: relative(root, path), body };
    });
  });
}

function build(dir: string, root: string): RenderedDoc[] {
  const k = kustomizationOf(dir);
  let docs = loadResources(k, dir, root);
  for (const c of strings(k['components'])) {
    const cdir = join(dir, c);
    const ck = kustomizationOf(cdir);
    if (ck['kind'] !== 'Component') throw new Error(`${cdir}: kind must be Component`);
    docs = applyPatches([...docs, ...loadResources(ck, cdir, root)], ck, cdir);
  }
  docs = applyPatches(docs, k, dir);
  const ns = text(k['namespace']);
  if (ns !== undefined) {
    docs = docs.map((d) => {
      if (CLUSTER_SCOPED.has(String(d.body['kind']))) return d;
      const body = clone(d.body);
      body['metadata'] = { ...(body['metadata'] as YamlMap), namespace: ns };
      return { source: d.source, body };
    });
  }
  return applyReplicas(docs, k, dir);
}

/** Renders the kustomization in `dir` (absolute); sources are relative to `root`. */
export function renderKustomization(dir: string, root: string = dirname(dir)): RenderedDoc[] {
  return build(dir, root);
}
