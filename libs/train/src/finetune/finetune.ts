import { AdapterSet, LinearSchedule } from '@cola/gl';
import { initClassificationHead, resolveTaps, tapShape, type GptModel } from '@cola/model';
import { createProgressBar } from '../progress/progress-bar';
import { BackpropStepper } from './backprop-stepper';
import { ColaStepper } from './cola-stepper';
import { evaluate, type EvalResult } from './evaluate';
import { validateFinetuneOptions, type FinetuneOptions, type FinetuneOptionsInput } from './finetune-options';
import type { StepReport, Stepper } from './step-report';
import type { TaskData } from './task-data';

/** Hooks and switches of {@link finetune}. */
export interface FinetuneHooks {
  /** Called after every batch. */
  onStep?: (step: number, report: StepReport) => void;
  /** No progress bar. */
  quiet?: boolean;
  /** Evaluate the model before training too (the "before" column). Default false. */
  evaluateBefore?: boolean;
  /** Skip the final evaluation (equality tests that only compare weights). Default false. */
  skipEvaluation?: boolean;
  /** Measure peak tensor bytes of one host step with tf.profile (costs one profiled step). */
  measurePeakBytes?: boolean;
}

/** What a fine-tuning run produced. */
export interface FinetuneResult {
  options: FinetuneOptions;
  /** The trained adapters; the caller owns and disposes them. */
  adapters: AdapterSet;
  /** Batches run. */
  steps: number;
  /** Loss of every batch, in order. */
  losses: number[];
  /** Evaluation before training, when asked for. */
  before?: EvalResult;
  /** Evaluation after training (undefined when skipped). */
  after?: EvalResult;
  /** Mean host milliseconds per batch (see StepReport.hostMs), excluding the first (warm-up) batch. */
  hostStepMs: number;
  /** Real tokens per second of host time. */
  hostTokensPerSecond: number;
  /**
   * Peak tensor bytes the host holds during its part of a step (see Stepper.peakHostBytes): for
   * ColA the host step without the optimizer slots, which live on the aux-trainers in the service.
   */
  peakHostBytes?: number;
  /** Wall-clock seconds of the training loop. */
  wallSeconds: number;
}

/** The host side of one ColA step lives in hostStep; LoRA's whole step is host work. */
function makeStepper(model: GptModel, adapters: AdapterSet, o: FinetuneOptions, totalBatches: number): Stepper {
  const optimizerSteps = o.method === 'cola' ? Math.max(1, Math.floor(totalBatches / o.interval)) : totalBatches;
  const schedule = new LinearSchedule({ peakLr: o.optimizer.lr, totalSteps: optimizerSteps, warmupFraction: o.warmupFraction });
  if (o.method === 'cola')
    return new ColaStepper(model, adapters, { merged: o.merged, interval: o.interval, schedule, clipNorm: o.clipNorm });
  return new BackpropStepper(model, adapters, { schedule, clipNorm: o.clipNorm });
}

/** Builds the adapters of a run: `aux` on the targeted modules, `headAux` on the classifier head. */
export function createRunAdapters(model: GptModel, o: FinetuneOptions): AdapterSet {
  const taps = resolveTaps(model.config, o.targetModules);
  return AdapterSet.create({
    layers: taps.map((tap) => ({ tap, ...tapShape(model.config, tap), aux: tap === 'score' ? o.headAux : o.aux })),
    optimizer: o.optimizer,
    seed: o.seed,
  });
}

/** A classification task's head on the model: (re)initialised from `seed` when its label count differs. */
export function ensureTaskHead(model: GptModel, data: TaskData, seed: number): void {
  if (data.task === 'classification' && model.config.numLabels !== data.labels.length) {
    initClassificationHead(model, data.labels.length, { seed });
  }
}

/**
 * Fine-tunes a frozen base model on a task with ColA (Gradient Learning), LoRA (back-propagation)
 * or a trained head only, then evaluates it. A classification task (re)initialises the model's
 * classifier head when its label count differs.
 */
export async function finetune(
  model: GptModel,
  data: TaskData,
  raw: Omit<FinetuneOptionsInput, 'task'>,
  hooks: FinetuneHooks = {},
): Promise<FinetuneResult> {
  const o = validateFinetuneOptions({ ...raw, task: data.task });
  ensureTaskHead(model, data, o.seed);
  const adapters = createRunAdapters(model, o);
  const evalBatches = () => data.evaluation({ batchSize: o.batchSize, maxLength: o.maxLength });
  const before = hooks.evaluateBefore ? evaluate(model, evalBatches()) : undefined;

  const perEpoch = data.train({ batchSize: o.batchSize, maxLength: o.maxLength, seed: o.seed, epoch: 0 }).numBatches;
  const totalBatches = Math.min(perEpoch * o.epochs, o.maxSteps ?? Infinity);
  const stepper = makeStepper(model, adapters, o, totalBatches);
  const bar = createProgressBar({
    label: `${o.method}${o.method === 'cola' ? `/${o.aux.type}${o.merged ? '/merged' : ''}` : ''}`,
    total: totalBatches,
    quiet: hooks.quiet,
  });

  const losses: number[] = [];
  let hostMs = 0;
  let hostTokens = 0;
  let peakHostBytes: number | undefined;
  const t0 = performance.now();
  let step = 0;
  outer: for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (const batch of data.train({ batchSize: o.batchSize, maxLength: o.maxLength, seed: o.seed, epoch })) {
      if (step >= totalBatches) break outer;
      // One profiled throw-away pass after warm-up; profiling records every kernel, so only one.
      if (hooks.measurePeakBytes && step === 1) peakHostBytes = await stepper.peakHostBytes(batch);
      const report = stepper.step(batch);
      losses.push(report.loss);
      if (step > 0 || totalBatches === 1) {
        hostMs += report.hostMs;
        hostTokens += report.tokens;
      }
      step++;
      const recent = losses.slice(-10);
      bar.update(step, {
        loss: recent.reduce((a, b) => a + b, 0) / recent.length,
        tokensPerSecond: hostMs > 0 ? (hostTokens / hostMs) * 1000 : undefined,
      });
      hooks.onStep?.(step, report);
      // Yield to the event loop once per batch: the progress bar redraws on a timer.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  bar.stop();
  const wallSeconds = (performance.now() - t0) / 1000;
  const after = hooks.skipEvaluation ? undefined : evaluate(model, evalBatches(), { adapters, merged: o.method === 'cola' && o.merged });
  const timed = Math.max(1, step - 1);
  return {
    options: o,
    adapters,
    steps: step,
    losses,
    before,
    after,
    hostStepMs: hostMs / timed,
    hostTokensPerSecond: hostMs > 0 ? (hostTokens / hostMs) * 1000 : 0,
    peakHostBytes,
    wallSeconds,
  };
}
