import { assertId, assertIndex } from '@cola/config';
import type { AdaptationTask } from '@cola/proto';

/**
 * The BullMQ job data of one fit task on `QUEUES.adapt` (docs/pipeline.md, "The aux-trainer"): a
 * claim-check reference to the encoded AdaptationBatch and the numbers needed to order it, never
 * the tensors themselves (BullMQ copies job data on every state move).
 */
export interface AdaptTaskData {
  /** The fine-tuning job. */
  jobId: string;
  /** Its tenant. */
  tenantId: string;
  /** Fit-task number within the job, from 0 without gaps; applied in this order. */
  seq: number;
  /** Aux version the gpu-host computed the batch with (≤ seq; < seq when K > 1). */
  auxVersion: number;
  /** Redis key of the payload bytes (`keys.payload(jobId, seq)`). */
  payloadKey: string;
  /** Exact byte length of the payload. */
  size: number;
  /** SHA-256 of the payload as 64 lowercase hex characters. */
  sha256: string;
}

/** Raised when a queue job's data is not an {@link AdaptTaskData}: a producer bug, never retried. */
export class AdaptTaskDataError extends Error {
  override readonly name = 'AdaptTaskDataError';
}

function field<T>(data: Record<string, unknown>, name: string, check: (v: unknown) => v is T, want: string): T {
  const v = data[name];
  if (!check(v)) throw new AdaptTaskDataError(`adapt task field "${name}" must be ${want}, got ${JSON.stringify(v)}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Checks a queue job's data once, before anything else reads it. The job data crossed a process
 * boundary as JSON, so every field is re-checked (ids with the same rules as the key builders).
 */
export function validateAdaptTaskData(raw: unknown): AdaptTaskData {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new AdaptTaskDataError(
      `adapt task data must be an object { jobId, tenantId, seq, auxVersion, payloadKey, size, sha256 }, got ${JSON.stringify(raw)}`,
    );
  }
  const data = raw as Record<string, unknown>;
  const out: AdaptTaskData = {
    jobId: field(data, 'jobId', isString, 'a job id'),
    tenantId: field(data, 'tenantId', isString, 'a tenant id'),
    seq: field(data, 'seq', isIndex, 'an integer >= 0'),
    auxVersion: field(data, 'auxVersion', isIndex, 'an integer >= 0'),
    payloadKey: field(data, 'payloadKey', isString, 'a Redis key'),
    size: field(data, 'size', isIndex, 'a byte count >= 0'),
    sha256: field(data, 'sha256', (v): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v), '64 lowercase hex characters'),
  };
  try {
    assertId('jobId', out.jobId);
    assertId('tenantId', out.tenantId);
    assertIndex('seq', out.seq);
  } catch (e) {
    throw new AdaptTaskDataError(`adapt task: ${(e as Error).message}`);
  }
  if (out.auxVersion > out.seq) {
    throw new AdaptTaskDataError(
      `adapt task ${out.jobId}#${out.seq} claims aux version ${out.auxVersion}, but version v can only feed tasks seq >= v`,
    );
  }
  return out;
}

/** The task as the cola.v1 AdaptationTask, which `decodeAdaptation` checks the payload against. */
export function toAdaptationTask(t: AdaptTaskData): AdaptationTask {
  return {
    jobId: t.jobId,
    tenantId: t.tenantId,
    seq: t.seq,
    auxVersion: t.auxVersion,
    payload: { key: t.payloadKey, byteSize: t.size, sha256: t.sha256 },
  };
}
