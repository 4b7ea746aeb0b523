import { tf } from '@cola/gl';
import { SCORE_TAP, type InjectFn, type RowGroup } from '@cola/model';
import type { TaskBatch } from '@cola/train';

/** Several tenants' batches stacked row-wise into one, and where each tenant's rows are. */
export interface MixedBatch {
  /** The stacked batch (labels and lossMask stacked too when present). */
  batch: TaskBatch;
  /** Rows of each part, in input order: part k owns rows [start, end). */
  groups: RowGroup[];
}

function stack(parts: readonly Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Stacks the batches of several tenants into one mixed batch, rows of each tenant contiguous.
 * They must share a sequence length (jobs are packed by head and max length, and batches use
 * `padTo: 'maxLength'`) and all have labels (cls) or none (lm).
 */
export function packBatches(parts: readonly TaskBatch[]): MixedBatch {
  if (parts.length === 0) throw new Error('packBatches: no batches to pack');
  const seqLen = parts[0]!.seqLen;
  const withLabels = parts.filter((p) => p.labels).length;
  if (parts.some((p) => p.seqLen !== seqLen))
    throw new Error(
      `packBatches: sequence lengths differ (${parts.map((p) => p.seqLen).join(', ')}); only jobs with one max length share a batch`,
    );
  if (withLabels !== 0 && withLabels !== parts.length) throw new Error('packBatches: classification and LM batches cannot share a batch');
  const groups: RowGroup[] = [];
  let rows = 0;
  for (const p of parts) {
    groups.push({ start: rows, end: rows + p.batch });
    rows += p.batch;
  }
  const batch: TaskBatch & { lossMask?: Int32Array } = {
    ids: stack(parts.map((p) => p.ids)),
    mask: stack(parts.map((p) => p.mask)),
    batch: rows,
    seqLen,
  };
  if (withLabels) batch.labels = stack(parts.map((p) => p.labels!));
  const masks = parts.map((p) => (p as { lossMask?: Int32Array }).lossMask);
  // A batch without a lossMask counts every real next token: all ones says the same.
  if (masks.some((m) => m)) batch.lossMask = stack(masks.map((m, i) => m ?? new Int32Array(parts[i]!.ids.length).fill(1)));
  return { batch, groups };
}

/** Rows a tap sees for a group of sequences: one per token, or one per sequence for `score`. */
export function tapRows(tap: string, group: RowGroup, seqLen: number): { start: number; size: number } {
  const per = tap === SCORE_TAP ? 1 : seqLen;
  return { start: group.start * per, size: (group.end - group.start) * per };
}

/** One tenant of a mixed batch: its rows and its aux contribution per tap. */
export interface RoutedTenant {
  rows: RowGroup;
  /** The tenant's aux output for its own rows of a tap, or null when it does not adapt the tap. */
  output(tap: string, x: tf.Tensor2D): tf.Tensor2D | null;
}

/**
 * Routes rows to tenants, like multi-LoRA serving: at each tap, every tenant's aux runs on its own
 * rows only and the results are stacked back in row order (zeros for a tenant that does not adapt
 * the tap). Differentiable, so the host step's G flows through each tenant's aux as in its solo step.
 */
export function routedInjection(tenants: readonly RoutedTenant[], seqLen: number): InjectFn {
  return (tap, x) => {
    const outs = tenants.map((t) => {
      const r = tapRows(tap, t.rows, seqLen);
      return { r, out: t.output(tap, tf.slice(x, [r.start, 0], [r.size, -1])) };
    });
    if (outs.every((o) => o.out === null)) return null;
    const dOut = outs.find((o) => o.out)!.out!.shape[1];
    let covered = 0;
    const pieces: tf.Tensor2D[] = [];
    for (const { r, out } of outs) {
      if (r.start > covered) pieces.push(tf.zeros([r.start - covered, dOut]));
      pieces.push(out ?? tf.zeros([r.size, dOut]));
      covered = r.start + r.size;
    }
    if (covered < x.shape[0]) pieces.push(tf.zeros([x.shape[0] - covered, dOut]));
    return pieces.length === 1 ? pieces[0]! : (tf.concat(pieces, 0) as tf.Tensor2D);
  };
}
