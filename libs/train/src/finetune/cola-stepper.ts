import {
  disposeAdaptationData,
  disposeDeltas,
  glFitStep,
  gramOf,
  IntervalBuffer,
  tf,
  type AdapterSet,
  type AdaptationData,
  type LinearSchedule,
} from '@cola/gl';
import { hostStep, type GptModel, type HostStepResult } from '@cola/model';
import type { StepReport, Stepper } from './step-report';
import { realTokens } from './task-loss';
import type { TaskBatch } from './task-data';

/** Options of {@link ColaStepper}. */
export interface ColaStepperOptions {
  /** Train on W + dW (merged) instead of adding g(X) in the forward pass (unmerged). */
  merged: boolean;
  /** Adaptation interval I: host batches per fit step. */
  interval: number;
  /** Learning-rate schedule over fit steps. */
  schedule: LinearSchedule;
  /** Clip each layer's gradient norm to this; off when undefined. */
  clipNorm?: number;
  /**
   * Ship X^T G and colsum(G) instead of (X, G). Exact for linear and lowrank aux (docs/design.md,
   * "gram transfer"); the fit refuses it for mlp.
   */
  gram?: boolean;
}

/**
 * Single-process ColA: the host step computes only G = dL/dh~ for the adapted taps (no base-weight
 * and no aux-parameter gradients); the GL fit step then turns the buffered (X, G) of I batches into
 * one optimizer step per layer. In the service the fit runs on aux-trainers; here it runs inline,
 * which is what the distributed run is checked against.
 */
export class ColaStepper implements Stepper {
  private readonly buffers = new Map<string, IntervalBuffer>();

  constructor(
    private readonly model: GptModel,
    private readonly adapters: AdapterSet,
    private readonly opts: ColaStepperOptions,
  ) {
    for (const tap of adapters.taps) this.buffers.set(tap, new IntervalBuffer({ interval: opts.interval }));
  }

  /** The host's part: forward with the current aux, backward to the adapted outputs only. */
  private host(batch: TaskBatch): HostStepResult {
    const deltas = this.opts.merged ? this.adapters.deltas() : undefined;
    try {
      return hostStep(this.model, batch, {
        head: batch.labels ? 'cls' : 'lm',
        labels: batch.labels,
        windowOf: batch.windowOf,
        taps: this.adapters.taps,
        inject: this.opts.merged ? undefined : this.adapters.inject,
        deltas,
      });
    } finally {
      if (deltas) disposeDeltas(deltas);
    }
  }

  async peakHostBytes(batch: TaskBatch): Promise<number> {
    const info = await tf.profile(() => {
      for (const { x, g } of this.host(batch).taps.values()) tf.dispose([x, g]);
      return [];
    });
    // The optimizer slots are in this process only because the fit runs inline here; in the
    // service they live on the aux-trainers, so they are not the host's.
    return info.peakBytes - this.adapters.optimizerBytes();
  }

  step(batch: TaskBatch): StepReport {
    const t0 = performance.now();
    const host = this.host(batch);
    const hostMs = performance.now() - t0;

    const t1 = performance.now();
    let optimizerSteps = 0;
    for (const [tap, { x, g }] of host.taps) {
      const layer = this.adapters.layers.get(tap)!;
      const data: AdaptationData = this.opts.gram ? gramOf(x, g) : { kind: 'raw', x, g };
      const ready = this.buffers.get(tap)!.push(data);
      // The buffer keeps its own references, so what the host step returned can go now.
      if (this.opts.gram) disposeAdaptationData(data);
      tf.dispose([x, g]);
      if (ready) {
        glFitStep(layer.adapter, layer.optimizer, ready, {
          lr: this.opts.schedule.lrAt(layer.optimizer.stepCount),
          clipNorm: this.opts.clipNorm,
        });
        disposeAdaptationData(ready);
        optimizerSteps = 1;
      }
    }
    return { loss: host.loss, tokens: realTokens(batch), hostMs, fitMs: performance.now() - t1, optimizerSteps };
  }
}
