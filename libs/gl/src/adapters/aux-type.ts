import type { tf } from '../tf';
import type { GramAdaptationData } from '../fit/adaptation-data';
import type { AuxAdapter, CreateAdapterOptions } from './aux-adapter';

/** The part of every aux config the registry reads: its type name. */
export interface AuxTypeConfig {
  readonly type: string;
}

/**
 * Everything the platform needs to know about one kind of aux model, in the folder of that kind
 * (like the tuners of HF PEFT): a new aux type is that folder plus one line in `aux-registry.ts`.
 */
export interface AuxTypeDefinition<C extends AuxTypeConfig> {
  /** The `type` its configs carry, e.g. 'lowrank'. */
  readonly type: C['type'];
  /** Validates a raw config of this type and fills in its defaults; throws an `AuxConfigError`. */
  validate(raw: unknown): C;
  /** Builds the adapter of one adapted layer [dIn → dOut] from a validated config. */
  create(config: C, dIn: number, dOut: number, opts: CreateAdapterOptions): AuxAdapter;
  /**
   * True when the aux stands for a weight change dW (and db), so it can be merged into W and
   * averaged in a collaborative merge group; otherwise it is served unmerged (h = X W + b + g(X)).
   */
  mergeable(config: C): boolean;
  /**
   * Fitting from the gram X^T G instead of (X, G), for a type whose gradient depends on X and G
   * only through it. Absent: the type always needs the raw activations.
   */
  readonly gram?: GramFit<C>;
}

/** How a type fits from gram data (see {@link AuxTypeDefinition.gram}). */
export interface GramFit<C extends AuxTypeConfig> {
  /** Why this config cannot be fitted from gram data, or `undefined` when it can. */
  blocker(config: C): string | undefined;
  /** The closed-form gradients, keyed like `adapter.params`; runs inside the caller's tf.tidy. */
  gradients(adapter: AuxAdapter, config: C, data: GramAdaptationData): Record<string, tf.Tensor>;
}
