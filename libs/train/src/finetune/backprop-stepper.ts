import { clipGradNorm, tf, type AdapterSet, type LinearSchedule } from '@cola/gl';
import type { GptModel } from '@cola/model';
import type { StepReport, Stepper } from './step-report';
import { realTokens, taskLoss } from './task-loss';
import type { TaskBatch } from './task-data';

/** Options of {@link BackpropStepper}. */
export interface BackpropStepperOptions {
  /** Learning-rate schedule over optimizer steps. */
  schedule: LinearSchedule;
  /** Clip each layer's gradient norm to this; off when undefined. */
  clipNorm?: number;
}

/**
 * Ordinary back-propagation into the same adapters (LoRA when the aux is lowrank), in the same
 * engine and with the same per-layer optimizers as {@link ColaStepper}. This is the reference that
 * ColA must equal step for step at I = 1.
 */
export class BackpropStepper implements Stepper {
  constructor(
    private readonly model: GptModel,
    private readonly adapters: AdapterSet,
    private readonly opts: BackpropStepperOptions,
  ) {}

  async peakHostBytes(batch: TaskBatch): Promise<number> {
    const vars = [...this.adapters.variables().values()];
    // Forward and backward into the adapters, without the update; the optimizer slots stay live
    // on the host in LoRA, so they count.
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => taskLoss(this.model, batch, { inject: this.adapters.inject }), vars);
      tf.dispose([value, ...Object.values(grads)]);
      return [];
    });
    return info.peakBytes;
  }

  step(batch: TaskBatch): StepReport {
    const t0 = performance.now();
    const vars = this.adapters.variables();
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => taskLoss(this.model, batch, { inject: this.adapters.inject }), [...vars.values()]);
      for (const { adapter, optimizer } of this.adapters.layers.values()) {
        let layerGrads = new Map<string, tf.Tensor>();
        for (const [name, v] of adapter.params) layerGrads.set(name, grads[v.name]!);
        // Clip per layer, as each aux-trainer does for its own layer in ColA.
        if (this.opts.clipNorm !== undefined) layerGrads = clipGradNorm(layerGrads, this.opts.clipNorm).grads;
        optimizer.step(adapter.params, layerGrads, this.opts.schedule.lrAt(optimizer.stepCount));
      }
      return value;
    });
    const lossValue = loss.dataSync()[0]!;
    loss.dispose();
    return { loss: lossValue, tokens: realTokens(batch), hostMs: performance.now() - t0, fitMs: 0, optimizerSteps: 1 };
  }
}
