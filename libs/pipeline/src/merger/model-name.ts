import { ID_PATTERN } from '@cola/config';

/** The name clients use for the base model itself. */
export const BASE_MODEL_NAME = 'base';

/** A parsed model name: the base model, or one fine-tuned job on a base. */
export type ModelName = { kind: 'base' } | { kind: 'ft'; base: string; tenantId: string; jobId: string };

/** Raised for a model name that is not `base` or `ft:<base>:<tenant>:<job>`. */
export class ModelNameError extends Error {
  override readonly name = 'ModelNameError';
}

/** A base model name: like an id, plus '.' (e.g. `cola-tiny`, `gpt2.small`). */
const BASE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Parses `base` or `ft:<base>:<tenant>:<job>` (the OpenAI-style name of a fine-tuned model). The
 * tenant and job parts follow the id rules of the Redis keys, so a parsed name can always be used
 * to build them.
 */
export function parseModelName(name: string): ModelName {
  if (name === BASE_MODEL_NAME) return { kind: 'base' };
  const parts = name.split(':');
  const [ft, base, tenantId, jobId] = parts;
  if (parts.length !== 4 || ft !== 'ft' || !base || !tenantId || !jobId) {
    throw new ModelNameError(`model ${JSON.stringify(name)} is not a model name: use "${BASE_MODEL_NAME}" or "ft:<base>:<tenant>:<job>"`);
  }
  if (!BASE_PATTERN.test(base)) throw new ModelNameError(`model ${JSON.stringify(name)} has an invalid base name "${base}"`);
  if (!ID_PATTERN.test(tenantId)) throw new ModelNameError(`model ${JSON.stringify(name)} has an invalid tenant id "${tenantId}"`);
  if (!ID_PATTERN.test(jobId)) throw new ModelNameError(`model ${JSON.stringify(name)} has an invalid job id "${jobId}"`);
  return { kind: 'ft', base, tenantId, jobId };
}

/** The inverse of {@link parseModelName}. */
export function formatModelName(m: ModelName): string {
  return m.kind === 'base' ? BASE_MODEL_NAME : `ft:${m.base}:${m.tenantId}:${m.jobId}`;
}
