/**
 * Typed access to parsed YAML (which is `unknown` until looked at), so the manifest checks can
 * walk documents under strict TypeScript without `any`.
 */

/** A YAML mapping. */
export type YamlMap = Record<string, unknown>;

/** Whether a parsed YAML value is a mapping (not null, not a sequence). */
export function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a dotted path (`spec.template.metadata`), or `undefined` when any step is missing. */
export function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (!isMap(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** The mappings of a YAML sequence; a missing or non-sequence value gives an empty list. */
export function maps(value: unknown): YamlMap[] {
  return Array.isArray(value) ? value.filter(isMap) : [];
}

/** A scalar as text (YAML numbers and booleans included), or `undefined`. */
export function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** The string entries of a mapping (labels, annotations, ConfigMap data). */
export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isMap(value)) return out;
  for (const [key, v] of Object.entries(value)) {
    const t = text(v);
    if (t !== undefined) out[key] = t;
  }
  return out;
}
