import type { LinearSchedule } from '@cola/gl';
import type { GptModel } from '@cola/model';
import { BackpropStepper } from './backprop-stepper';
import { ColaStepper } from './cola-stepper';
import { createRunAdapters, ensureTaskHead } from './finetune';
import { validateFinetuneOptions, type FinetuneOptionsInput } from './finetune-options';
import { lrRangeSchedule, pickRangeTestLr, type LrRangeOptions, type LrRangePick } from './lr-range-test';
import type { TaskData } from './task-data';

/** A range test's rates, the loss of each step, and the rate read from them. */
export interface LrRangeRun extends LrRangePick {
  lrs: number[];
  losses: number[];
}

/**
 * Runs Smith's range test in-process: fresh adapters of the run `raw` describes (same method,
 * aux, batch and max_length), one step per rate of {@link lrRangeSchedule} on the training
 * batches, then {@link pickRangeTestLr}. The test's adapters are thrown away; the model's weights
 * are not touched (a classification head is (re)initialised exactly as `finetune` would).
 */
export async function runLrRangeTest(
  model: GptModel,
  data: TaskData,
  raw: Omit<FinetuneOptionsInput, 'task'>,
  range: LrRangeOptions = {},
): Promise<LrRangeRun> {
  const o = validateFinetuneOptions({ ...raw, task: data.task, interval: raw.method === 'cola' ? 1 : undefined });
  ensureTaskHead(model, data, o.seed);
  const lrs = lrRangeSchedule(range);
  // The stepper reads its rate from a schedule: this one returns the test's rate for each step.
  const schedule = {
    peakLr: lrs[lrs.length - 1]!,
    totalSteps: lrs.length,
    warmupSteps: 0,
    lrAt: (step: number) => lrs[Math.min(step, lrs.length - 1)]!,
  } as LinearSchedule;
  const adapters = createRunAdapters(model, o);
  const stepper =
    o.method === 'cola'
      ? new ColaStepper(model, adapters, { merged: o.merged, interval: 1, schedule, clipNorm: o.clipNorm })
      : new BackpropStepper(model, adapters, { schedule, clipNorm: o.clipNorm });
  const losses: number[] = [];
  try {
    for (let epoch = 0; losses.length < lrs.length; epoch++) {
      const batches = data.train({ batchSize: o.batchSize, maxLength: o.maxLength, seed: o.seed, epoch });
      if (batches.numBatches === 0) throw new Error('runLrRangeTest: the training data gives no batch');
      for (const batch of batches) {
        if (losses.length >= lrs.length) break;
        losses.push(stepper.step(batch).loss);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    adapters.dispose();
  }
  return { ...pickRangeTestLr(lrs, losses), lrs, losses };
}
