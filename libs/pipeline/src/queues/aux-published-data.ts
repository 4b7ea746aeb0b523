import { assertId, keys } from '@cola/config';
import type { AuxPublished } from '@cola/proto';

/**
 * "aux published" as BullMQ job data: the fields of the cola.v1 `AuxPublished` message as plain
 * JSON (it carries no tensors, so JSON costs nothing here). Added by an aux-trainer to every queue
 * of `AUX_PUBLISHED_QUEUES` with id `jobIds.auxPublished(jobId, version)`.
 */
export type AuxPublishedData = AuxPublished;

/** Raised when "aux published" job data is malformed: a producer bug, never retried. */
export class AuxPublishedDataError extends Error {
  override readonly name = 'AuxPublishedDataError';
}

/** Checks "aux published" job data read from a queue (it crossed a process boundary as JSON). */
export function validateAuxPublishedData(raw: unknown): AuxPublishedData {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new AuxPublishedDataError(`aux published data must be an object, got ${JSON.stringify(raw)}`);
  }
  const d = raw as Record<string, unknown>;
  const problems: string[] = [];
  const str = (k: string): string => {
    if (typeof d[k] !== 'string' || d[k] === '') problems.push(`"${k}" must be a non-empty string`);
    return String(d[k] ?? '');
  };
  const idx = (k: string): number => {
    const v = d[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) problems.push(`"${k}" must be an integer >= 0`);
    return Number(v);
  };
  const out: AuxPublishedData = {
    jobId: str('jobId'),
    tenantId: str('tenantId'),
    version: idx('version'),
    seq: idx('seq'),
    stateKey: str('stateKey'),
    mergeable: d.mergeable === true,
    publishedAtMs: idx('publishedAtMs'),
  };
  if (typeof d.mergeable !== 'boolean') problems.push('"mergeable" must be true or false');
  if (problems.length === 0) {
    try {
      assertId('jobId', out.jobId);
      assertId('tenantId', out.tenantId);
      if (out.stateKey !== keys.auxVersion(out.jobId, out.version))
        problems.push(`"stateKey" must be ${keys.auxVersion(out.jobId, out.version)}, got ${out.stateKey}`);
      if (out.version !== out.seq + 1)
        problems.push(`version ${out.version} must be seq + 1 = ${out.seq + 1} (one version per applied fit task)`);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length) throw new AuxPublishedDataError(`malformed aux published data: ${problems.join('; ')}`);
  return out;
}
