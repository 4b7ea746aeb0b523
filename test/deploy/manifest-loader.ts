import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isMap, text, type YamlMap } from './yaml-access';

/** The repository root (this file lives in test/deploy). */
export const REPO_ROOT = join(__dirname, '..', '..');

/** One YAML document of a manifest file. */
export interface ManifestDoc {
  /** Repository-relative path of the file, e.g. `deploy/k8s/gateway.yaml`: what messages name. */
  file: string;
  /** The document's `kind`. */
  kind: string;
  /** The document's `metadata.name`. */
  name: string;
  /** The whole parsed document. */
  body: YamlMap;
}

/** A kustomize directory, parsed. */
export interface ManifestBundle {
  /** Repository-relative path of the directory. */
  dir: string;
  /** The parsed kustomization.yaml. */
  kustomization: YamlMap;
  /** `resources` of the kustomization, in order. */
  resources: string[];
  /** Every `*.yaml` file of the directory except kustomization.yaml. */
  yamlFiles: string[];
  /** Every document of every resource file, in order. */
  docs: ManifestDoc[];
}

/**
 * Reads a kustomize directory: its kustomization and every document of the files it lists, plus
 * the resources of the given components (by default the KEDA one, whose ScaledObject the checks
 * compare with the queue keys).
 * Throws, naming the file, when a file is missing or is not valid YAML: every later check
 * would be meaningless.
 */
export function loadManifests(
  dir: string = join(REPO_ROOT, 'deploy', 'k8s', 'base'),
  components: readonly string[] = [join(REPO_ROOT, 'deploy', 'k8s', 'components', 'keda')],
): ManifestBundle {
  const rel = relative(REPO_ROOT, dir);
  const kustomizationPath = join(dir, 'kustomization.yaml');
  const kustomization = parseFile(kustomizationPath)[0];
  if (!isMap(kustomization)) throw new Error(`${rel}/kustomization.yaml: not a YAML mapping`);
  const resourcesField = kustomization['resources'];
  const resources = Array.isArray(resourcesField) ? resourcesField.map((r) => text(r) ?? '') : [];
  const yamlFiles = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort();
  const docs: ManifestDoc[] = [];
  const files = [
    ...resources.map((r) => ({ path: join(dir, r), file: `${rel}/${r}` })),
    ...components.flatMap((c) => {
      const ck = parseFile(join(c, 'kustomization.yaml'))[0];
      const listed = isMap(ck) && Array.isArray(ck['resources']) ? ck['resources'].map((r) => text(r) ?? '') : [];
      return listed.map((r) => ({ path: join(c, r), file: relative(REPO_ROOT, join(c, r)) }));
    }),
  ];
  for (const { path, file } of files) {
    if (!existsSync(path)) continue; // reported by checkKustomization, with the fix
    parseFile(path).forEach((body, index) => {
      if (body === null || body === undefined) return; // an empty document (trailing ---)
      if (!isMap(body)) throw new Error(`${file}: document ${index + 1} is not a YAML mapping`);
      const kind = text(body['kind']) ?? '';
      const name = text(isMap(body['metadata']) ? body['metadata']['name'] : undefined) ?? '';
      if (!kind || !name) throw new Error(`${file}: document ${index + 1} has no kind or metadata.name`);
      docs.push({ file, kind, name, body });
    });
  }
  return { dir: rel, kustomization, resources, yamlFiles, docs };
}

function parseFile(path: string): unknown[] {
  const rel = relative(REPO_ROOT, path);
  const documents = parseAllDocuments(readFileSync(path, 'utf8'));
  const list = Array.isArray(documents) ? documents : [documents];
  return list.map((doc, index) => {
    if (doc.errors.length > 0) {
      throw new Error(`${rel}: document ${index + 1} is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    return doc.toJS();
  });
}
