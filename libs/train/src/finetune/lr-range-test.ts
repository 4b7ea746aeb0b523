/**
 * Smith's learning-rate range test ("Cyclical Learning Rates for Training Neural Networks", 2017):
 * run a few steps at geometrically increasing learning rates on the training data, smooth the
 * losses, and take a rate a decade below the one at the smoothed loss's minimum (past the minimum
 * the loss blows up; at the minimum it is already too high to train at for a whole run).
 *
 * This file holds the schedule of the test and the rule that reads its losses; the steps are run
 * by whoever owns the model (in-process fine-tuning or a service).
 */

/** Options of {@link lrRangeSchedule}. */
export interface LrRangeOptions {
  /** Lowest rate tried. Default 1e-4. */
  minLr?: number;
  /** Highest rate tried. Default 1e-1. */
  maxLr?: number;
  /** Steps of the test, one rate each. Default 12 (four rates per decade over three decades). */
  steps?: number;
}

/** The rates of a range test, geometric from minLr to maxLr inclusive. */
export function lrRangeSchedule(o: LrRangeOptions = {}): number[] {
  const lo = o.minLr ?? 1e-4;
  const hi = o.maxLr ?? 1e-1;
  const n = o.steps ?? 12;
  if (!(lo > 0 && hi > lo) || !Number.isInteger(n) || n < 3) {
    throw new Error(`lrRangeSchedule needs 0 < minLr < maxLr and at least 3 steps (got ${lo}, ${hi}, ${n})`);
  }
  return Array.from({ length: n }, (_, i) => lo * (hi / lo) ** (i / (n - 1)));
}

/** What {@link pickRangeTestLr} decided, and why (for the job's events). */
export interface LrRangePick {
  /** The chosen rate, or undefined when the test says nothing (keep the static default). */
  lr: number | undefined;
  why: string;
}

/** Smoothing of the losses (exponential moving average with bias correction, as fastai's lr_find). */
const BETA = 0.6;
/** The test stops reading once the smoothed loss exceeds this multiple of its minimum so far. */
const DIVERGED = 4;
/** The smoothed minimum must be this much under the first smoothed loss to count as a decrease. */
const MIN_DROP = 0.02;

/**
 * Reads a range test: `lrs[i]` was used for the step that gave `losses[i]`. Returns a tenth of
 * the rate at the smoothed loss's minimum, or no rate when the loss never fell by at least 2%
 * (too few steps or a task the test cannot read: the caller keeps its default).
 */
export function pickRangeTestLr(lrs: readonly number[], losses: readonly number[]): LrRangePick {
  if (lrs.length !== losses.length || lrs.length < 3) {
    return { lr: undefined, why: `range test needs at least 3 steps, got ${Math.min(lrs.length, losses.length)}` };
  }
  let avg = 0;
  let best = Infinity;
  let bestAt = -1;
  let first = NaN;
  for (let i = 0; i < losses.length; i++) {
    const l = losses[i]!;
    if (!Number.isFinite(l)) break;
    avg = BETA * avg + (1 - BETA) * l;
    const smooth = avg / (1 - BETA ** (i + 1));
    if (i === 0) first = smooth;
    if (smooth > DIVERGED * best) break;
    if (smooth < best) {
      best = smooth;
      bestAt = i;
    }
  }
  const fmt = (x: number): string => x.toPrecision(2);
  if (bestAt <= 0 || best > first * (1 - MIN_DROP)) {
    return { lr: undefined, why: `the loss did not fall over ${fmt(lrs[0]!)}-${fmt(lrs[lrs.length - 1]!)} (${fmt(first)} at best)` };
  }
  const lr = Number((lrs[bestAt]! / 10).toPrecision(2));
  return {
    lr,
    why: `range test: smoothed loss fell from ${fmt(first)} to its minimum ${fmt(best)} at lr ${fmt(lrs[bestAt]!)}; a tenth of that`,
  };
}
