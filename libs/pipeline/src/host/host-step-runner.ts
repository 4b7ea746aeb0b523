import { tf } from '@cola/gl';
import { chunkedHostStep, SCORE_TAP, type GptModel, type InjectFn, type TapAdaptation } from '@cola/model';
import { realTokens, type TaskBatch } from '@cola/train';
import type { JobAux } from './job-aux';

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
  /**
   * Most rows of the tenant's batch one chunk of the step may take (the gpu-host's memory
   * budget), or a function asked before each chunk of the tenant's rows, so that the X and G the
   * earlier chunks and tenants of a mixed step returned count as used. Default: the whole batch in one pass.
   */
  maxRows?: number | (() => number);
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
 * sequence length: each tenant's rows as their own segment (in row chunks under `maxRows`),
 * with exactly the single-process ColaStepper's call (its real deltas W + dW when merged, its
 * g(X) injected when not) plus, for a tenant whose classifier head is not the installed one, its
 * head's correction at `score`.
 *
 * Segment-wise application costs O(rows): no tenant's aux ever reads, and no gradient ever
 * splits, another tenant's rows (tfjs-wasm's Slice reads its whole input, so routing slices of
 * one stacked batch cost O(tenants x rows) per tap). Each tenant's X, G and loss are those of its
 * solo step.
 */
export function runHostStep(model: GptModel, parts: readonly StepPart[]): StepOutcome[] {
  if (parts.length === 0) return [];
  if (parts.length === 1 && parts[0]!.headDelta)
    throw new Error('runHostStep: a single tenant runs on its own installed head; headDelta is for mixed batches');
  const outcomes: StepOutcome[] = [];
  const timings = { forwardMs: 0, backwardMs: 0 };
  try {
    for (const p of parts) {
      const { batch, aux, taps } = p;
      const head = batch.labels ? 'cls' : 'lm';
      const inject = p.headDelta ? withHeadCorrection(aux.inject, p.headDelta) : aux.inject;
      const r = chunkedHostStep(model, batch, {
        head,
        labels: batch.labels,
        windowOf: batch.windowOf,
        taps,
        inject,
        deltas: aux.deltas,
        maxRows: p.maxRows ?? batch.batch,
      });
      timings.forwardMs += r.timings.forwardMs;
      timings.backwardMs += r.timings.backwardMs;
      outcomes.push({ loss: r.loss, tokens: realTokens(batch), taps: r.taps, timings });
    }
    return outcomes;
  } catch (e) {
    for (const o of outcomes) for (const { x, g } of o.taps.values()) tf.dispose([x, g]);
    throw e;
  }
}

/** The tenant's aux output plus its own head's difference x dW + db at `score`. */
function withHeadCorrection(inject: InjectFn | undefined, d: { dW: tf.Tensor2D; db: tf.Tensor1D }): InjectFn {
  return (tap, x) => {
    const a = inject?.(tap, x) ?? null;
    if (tap !== SCORE_TAP) return a;
    const head = tf.add(tf.matMul(x, d.dW), d.db) as tf.Tensor2D;
    return a ? (tf.add(a, head) as tf.Tensor2D) : head;
  };
}
