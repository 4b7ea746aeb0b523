import { resolveTaps, SCORE_TAP, tapShape, type GptModel } from '@cola/model';
import type { JobRecord } from '../jobs/job-store';
import { validateJobSpec } from '../jobs/job-spec';
import type { HostMemoryBudget } from './host-memory-budget';

/**
 * Bytes a job holds on the host between steps: its adaptation data buffered over the interval
 * (the raw X and G of every adapted tap, or their summed gram XᵀG and colsum G).
 */
export function bufferedBytes(model: GptModel, record: JobRecord): { bytes: number; taps: string[]; seqLen: number } {
  const v = validateJobSpec(record.spec);
  const o = v.options;
  // The score tap exists once a classification head is installed; the block taps dominate.
  const taps = resolveTaps(model.config, o.targetModules).filter((t) => t !== SCORE_TAP);
  const tokens = o.batchSize * o.maxLength * o.interval;
  let bytes = 0;
  for (const t of taps) {
    const { dIn, dOut } = tapShape(model.config, t);
    bytes += 4 * (v.transfer.mode === 'gram' ? dIn * dOut + dOut : tokens * (dIn + dOut));
  }
  return { bytes, taps, seqLen: o.maxLength };
}

/**
 * Whether the host has memory for one more job now. A job whose spec cannot be read is let
 * through (opening it fails it with the reason); with no other job registered it always fits,
 * since its steps then run in chunks as small as one row.
 */
export async function admitJob(
  model: GptModel,
  budget: HostMemoryBudget,
  record: JobRecord,
  othersActive: number,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (othersActive === 0) return { ok: true };
  let need: { bytes: number; taps: string[]; seqLen: number };
  try {
    need = bufferedBytes(model, record);
  } catch {
    return { ok: true };
  }
  if (need.taps.length === 0) return { ok: true };
  // The LM head's row costs at least the classifier's (its logits are per token).
  const row = await budget.bytesPerRow('lm', need.seqLen, need.taps);
  return budget.admits(need.bytes, row);
}
