import { tf } from '../tf';
import type { PlainTensor } from '../state/plain-tensor';
import { assertStepInputs, type Optimizer } from './optimizer';
import type { AdamWConfig } from './optimizer-config';
import { SlotStore } from './slot-store';

/**
 * torch.optim.AdamW, step for step (amsgrad off, no maximize):
 *
 *     p ← p · (1 − lr·wd)                      decoupled weight decay
 *     m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²
 *     p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 *
 * The order of operations follows torch's single-tensor path so the two agree to float rounding.
 */
export class AdamWOptimizer implements Optimizer {
  private readonly slots = new SlotStore('adamw', ['exp_avg', 'exp_avg_sq']);
  private steps = 0;

  constructor(readonly config: AdamWConfig) {}

  get stepCount(): number {
    return this.steps;
  }

  step(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    assertStepInputs('adamw', params, grads, lr);
    const {
      betas: [beta1, beta2],
      eps,
      weightDecay,
    } = this.config;
    const t = this.steps + 1;
    const stepSize = lr / (1 - beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g = grads.get(name)!;
        const m = this.slots.getOrCreate(name, 'exp_avg', p.shape, () => tf.zerosLike(p));
        const v = this.slots.getOrCreate(name, 'exp_avg_sq', p.shape, () => tf.zerosLike(p));
        const decayed = weightDecay === 0 ? p : tf.mul(p, 1 - lr * weightDecay);
        const mNew = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(vNew), bc2Sqrt), eps);
        m.assign(mNew);
        v.assign(vNew);
        p.assign(tf.sub(decayed, tf.mul(tf.div(mNew, denom), stepSize)));
      }
    });
    this.steps = t;
  }

  exportSlots(): Record<string, PlainTensor> {
    return this.slots.export();
  }

  importSlots(slots: Readonly<Record<string, PlainTensor>>, stepCount: number): void {
    if (!Number.isInteger(stepCount) || stepCount < 0)
      throw new Error(`adamw.importSlots: stepCount must be an integer >= 0, got ${stepCount}`);
    this.slots.import(slots);
    this.steps = stepCount;
  }

  dispose(): number {
    return this.slots.dispose();
  }
}
