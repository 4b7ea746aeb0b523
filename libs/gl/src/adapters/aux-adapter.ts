import type { tf } from '../tf';
import type { PlainTensor } from '../state/plain-tensor';
import type { AuxTypeConfig } from './aux-type';

/** Options of {@link AuxAdapter.forward}. */
export interface ForwardOptions {
  /**
   * Training mode: applies the adapter's dropout (lowrank with `dropout > 0`). Defaults to false,
   * i.e. inference, where dropout is never applied.
   */
  training?: boolean;
  /**
   * Seed of the dropout mask. A host forward and a worker fit that pass the same seed draw the same
   * mask, which keeps the GL gradient equal to back-propagation even with dropout.
   */
  dropoutSeed?: number;
}

/** The weight change a mergeable adapter stands for: `X (W + dW) + b + db == X W + b + g(X)`. */
export interface AdapterDelta {
  /** Added to the base weight `W` [dIn, dOut]. */
  dW: tf.Tensor2D;
  /** Added to the base bias [dOut]; absent when the adapter has no bias. */
  db?: tf.Tensor1D;
}

/** Options of {@link createAdapter}. */
export interface CreateAdapterOptions {
  /**
   * Seed of the random initialisation; the same seed, config and sizes give bit-identical weights on
   * every backend. Defaults to a random seed.
   */
  seed?: number;
  /**
   * Initial parameter values keyed by parameter name (e.g. from a snapshot). When given, every
   * parameter must be present with its exact shape and no random init happens.
   */
  params?: Readonly<Record<string, PlainTensor>>;
}

/**
 * One auxiliary model g(X; w) attached to one adapted linear layer of the frozen base model. Its
 * output is added to the layer's output: h~ = X W + b + g(X).
 */
export interface AuxAdapter {
  /** The validated config, defaults filled in. */
  readonly config: AuxTypeConfig;
  /** Input width of the adapted layer. */
  readonly dIn: number;
  /** Output width of the adapted layer. */
  readonly dOut: number;
  /**
   * Trainable parameters under stable names ('A','B' / 'V','b' / 'W0','b0','W1','b1',...), in a
   * fixed order. Optimizer slots and snapshots are keyed by these names.
   */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /** True when the adapter equals a weight change (lowrank, linear) and can be merged into W. */
  readonly mergeable: boolean;
  /** g(X) for X [N, dIn] → [N, dOut]; differentiable with respect to the params and to X. */
  forward(x: tf.Tensor2D, opts?: ForwardOptions): tf.Tensor2D;
  /** The equivalent weight change; throws for adapters that are not mergeable (mlp). */
  delta(): AdapterDelta;
  /** Frees the parameters; returns how many tensors were freed. */
  dispose(): number;
}
