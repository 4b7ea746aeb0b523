import { tf } from '../tf';
import type { AuxAdapter } from '../adapters/aux-adapter';
import { globalGradNorm, scaleToMaxNorm } from '../optim/clip-grad-norm';
import type { Optimizer } from '../optim/optimizer';
import type { AdaptationData } from './adaptation-data';
import { glGradients, type GlGradientOptions } from './gl-gradients';

/** Options of {@link glFitStep}. */
export interface GlFitStepOptions extends GlGradientOptions {
  /** Learning rate of this step (e.g. `schedule.lrAt(optimizer.stepCount)`). */
  lr: number;
  /**
   * Clip the global gradient norm to this value before the step (torch's clip_grad_norm_). Off by
   * default; the paper clips at 1 only for image classification.
   */
  clipNorm?: number;
}

/** What one fit step reports. */
export interface GlFitStepResult {
  /** Global L2 norm of the gradient before clipping. */
  gradNorm: number;
}

/**
 * One worker fit step: GL gradients, optional clipping, one optimizer step, all in one tidy so no
 * intermediate tensor survives. With I = 1 this equals one LoRA step on the real loss.
 */
export function glFitStep(adapter: AuxAdapter, optimizer: Optimizer, data: AdaptationData, opts: GlFitStepOptions): GlFitStepResult {
  const norm = tf.tidy(() => {
    const grads = glGradients(adapter, data, opts);
    const n = globalGradNorm(grads);
    const applied = opts.clipNorm === undefined ? grads : scaleToMaxNorm(grads, n, opts.clipNorm);
    optimizer.step(adapter.params, applied, opts.lr);
    return n;
  });
  const gradNorm = norm.dataSync()[0]!;
  norm.dispose();
  return { gradNorm };
}
