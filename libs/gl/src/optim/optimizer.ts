import type { tf } from '../tf';
import type { PlainTensor } from '../state/plain-tensor';
import type { OptimizerConfig } from './optimizer-config';

/**
 * One optimizer over a set of named parameters. The same object serves the GL fit step and an
 * ordinary back-propagation (LoRA) trainer: both hand it parameters and gradients by name, which is
 * what lets the ColA == LoRA test compare them step for step.
 */
export interface Optimizer {
  /** The validated config. */
  readonly config: OptimizerConfig;
  /** How many times {@link step} has run (AdamW's bias correction uses it). */
  readonly stepCount: number;
  /**
   * Updates every parameter in place from its gradient. Every parameter needs a gradient of its
   * own shape, and there may be no gradient without a parameter. `lr` is this step's learning rate
   * (from a schedule); the config's `lr` is not used here.
   */
  step(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void;
  /** Copies the state slots out, keyed `<param>.<slot>` (e.g. `A.exp_avg`). */
  exportSlots(): Record<string, PlainTensor>;
  /** Replaces the state with exported slots and the step count they were exported at. */
  importSlots(slots: Readonly<Record<string, PlainTensor>>, stepCount: number): void;
  /** Frees the slots; returns how many tensors were freed. */
  dispose(): number;
}

/** Checks the arguments of {@link Optimizer.step}, so a missing gradient is not silently skipped. */
export function assertStepInputs(
  owner: string,
  params: ReadonlyMap<string, tf.Variable>,
  grads: ReadonlyMap<string, tf.Tensor>,
  lr: number,
): void {
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
    throw new Error(`${owner}.step: lr must be a finite number >= 0, got ${lr}`);
  }
  for (const [name, p] of params) {
    const g = grads.get(name);
    if (!g) throw new Error(`${owner}.step: no gradient for parameter "${name}"; pass one gradient per parameter`);
    if (g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`${owner}.step: gradient of "${name}" has shape [${g.shape.join(', ')}], parameter has [${p.shape.join(', ')}]`);
    }
  }
  for (const name of grads.keys()) {
    if (!params.has(name)) throw new Error(`${owner}.step: gradient "${name}" has no parameter; known: ${[...params.keys()].join(', ')}`);
  }
}
