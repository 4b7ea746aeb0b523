import { tf } from '../tf';
import type { PlainTensor } from '../state/plain-tensor';
import { assertStepInputs, type Optimizer } from './optimizer';
import type { SgdConfig } from './optimizer-config';
import { SlotStore } from './slot-store';

/**
 * torch.optim.SGD, step for step:
 *
 *     d ← g + wd·p
 *     buf ← d on the first step, else μ·buf + (1 − dampening)·d
 *     d ← d + μ·buf (Nesterov) or buf
 *     p ← p − lr·d
 *
 * The momentum buffer only exists after the first step, as in torch, which is why the first step
 * copies d instead of damping it.
 */
export class SgdOptimizer implements Optimizer {
  private readonly slots = new SlotStore('sgd', ['momentum_buffer']);
  private steps = 0;

  constructor(readonly config: SgdConfig) {}

  get stepCount(): number {
    return this.steps;
  }

  step(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    assertStepInputs('sgd', params, grads, lr);
    const { momentum, dampening, nesterov, weightDecay } = this.config;
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g = grads.get(name)!;
        let d: tf.Tensor = weightDecay === 0 ? g : tf.add(g, tf.mul(p, weightDecay));
        if (momentum !== 0) {
          const fresh = this.slots.get(name, 'momentum_buffer') === undefined;
          const buf = this.slots.getOrCreate(name, 'momentum_buffer', p.shape, () => tf.clone(d));
          if (!fresh) buf.assign(tf.add(tf.mul(buf, momentum), tf.mul(d, 1 - dampening)));
          d = nesterov ? tf.add(d, tf.mul(buf, momentum)) : buf;
        }
        p.assign(tf.sub(p, tf.mul(d, lr)));
      }
    });
    this.steps += 1;
  }

  exportSlots(): Record<string, PlainTensor> {
    return this.slots.export();
  }

  importSlots(slots: Readonly<Record<string, PlainTensor>>, stepCount: number): void {
    if (!Number.isInteger(stepCount) || stepCount < 0)
      throw new Error(`sgd.importSlots: stepCount must be an integer >= 0, got ${stepCount}`);
    this.slots.import(slots);
    this.steps = stepCount;
  }

  dispose(): number {
    return this.slots.dispose();
  }
}
