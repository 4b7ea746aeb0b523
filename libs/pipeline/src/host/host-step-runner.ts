import { tf } from '@cola/gl';
import { allTaps, hostStep, SCORE_TAP, type GptModel, type TapAdaptation } from '@cola/model';
import { realTokens, type TaskBatch } from '@cola/train';
import type { JobAux } from './job-aux';
import { packBatches, routedInjection, tapRows } from './mixed-batch';

/** One tenant's share of a host step. */
export interface StepPart {
  /** The tenant's batch. */
  batch: TaskBatch;
  /** Its aux at the version the step uses. */
  aux: JobAux;
  /** Its adapted taps, in its own order (the order of its payload's layers). */
  taps: readonly string[];
  /**
   * Mixed batches only: the difference of the tenant's classifier head to the installed one,
   * [dIn, dOut] and [dOut], added on its rows at the `score` tap (see ClassifierHeads).
   */
  headDelta?: { dW: tf.Tensor2D; db: tf.Tensor1D };
}

/** What one tenant gets back from a host step. The tensors belong to the caller. */
export interface StepOutcome {
  /** The tenant's mean loss (its solo batch loss). */
  loss: number;
  /** Real tokens of its rows. */
  tokens: number;
  /** X and G of its rows, per tap of the tenant, in its tap order. */
  taps: Map<string, TapAdaptation>;
  /** Forward and backward milliseconds of the whole host step (shared by every tenant of a mixed batch). */
  timings: { forwardMs: number; backwardMs: number };
}

/**
 * Runs one host step for one or several tenants that share the model's current head and a
 * sequence length. One tenant: exactly the single-process ColaStepper's call (its real deltas
 * W + dW when merged, its g(X) injected when not). Several: one forward/backward over the stacked
 * rows, each tenant's aux routed to its rows, with the loss the sum of the tenants' mean losses,
 * so each tenant's X and G equal those of its solo step; they are then split back by rows.
 */
export function runHostStep(model: GptModel, parts: readonly StepPart[]): StepOutcome[] {
  if (parts.length === 0) return [];
  const head = parts[0]!.batch.labels ? 'cls' : 'lm';
  if (parts.length === 1) {
    const { batch, aux, taps, headDelta } = parts[0]!;
    if (headDelta) throw new Error('runHostStep: a single tenant runs on its own installed head; headDelta is for mixed batches');
    const r = hostStep(model, batch, { head, labels: batch.labels, taps, inject: aux.inject, deltas: aux.deltas });
    return [{ loss: r.loss, tokens: realTokens(batch), taps: r.taps, timings: r.timings }];
  }
  const { batch, groups } = packBatches(parts.map((p) => p.batch));
  const wanted = new Set(parts.flatMap((p) => p.taps));
  // hostStep returns the taps in the order given; forward order keeps it deterministic.
  const taps = allTaps(model.config).filter((t) => wanted.has(t));
  const inject = routedInjection(
    parts.map((p, k) => ({ rows: groups[k]!, output: (tap: string, x: tf.Tensor2D) => tenantOutput(p, tap, x) })),
    batch.seqLen,
  );
  const r = hostStep(model, batch, { head, labels: batch.labels, taps, inject, groups });
  try {
    return parts.map((p, k) => {
      const mine = new Map<string, TapAdaptation>();
      for (const tap of p.taps) {
        const { x, g } = r.taps.get(tap)!;
        const rows = tapRows(tap, groups[k]!, batch.seqLen);
        mine.set(tap, { x: tf.slice(x, [rows.start, 0], [rows.size, -1]), g: tf.slice(g, [rows.start, 0], [rows.size, -1]) });
      }
      return { loss: r.groupLosses![k]!, tokens: realTokens(p.batch), taps: mine, timings: r.timings };
    });
  } finally {
    for (const { x, g } of r.taps.values()) tf.dispose([x, g]);
  }
}

/** A tenant's contribution on its rows: its aux, plus its own head's difference at `score`. */
function tenantOutput(p: StepPart, tap: string, x: tf.Tensor2D): tf.Tensor2D | null {
  const a = p.aux.output(tap, x);
  const d = tap === SCORE_TAP ? p.headDelta : undefined;
  if (!d) return a;
  const head = tf.add(tf.matMul(x, d.dW), d.db) as tf.Tensor2D;
  return a ? (tf.add(a, head) as tf.Tensor2D) : head;
}
