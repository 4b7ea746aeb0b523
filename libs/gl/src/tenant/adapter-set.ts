import { tf } from '../tf';
import type { AdapterDelta, AuxAdapter } from '../adapters/aux-adapter';
import type { AuxConfigInput } from '../adapters/aux-config';
import { createAdapter } from '../adapters/create-adapter';
import { createOptimizer } from '../optim/create-optimizer';
import type { Optimizer } from '../optim/optimizer';
import type { OptimizerConfigInput } from '../optim/optimizer-config';
import { deltaWeights } from '../merge/merge-weights';

/** One adapted layer of an {@link AdapterSet}. */
export interface AdaptedLayerSpec {
  /** Full tap name of the base model's linear module, e.g. `h.0.attn.c_attn` or `score`. */
  tap: string;
  /** Input width of the module. */
  dIn: number;
  /** Output width of the module. */
  dOut: number;
  /** The aux model attached to it. */
  aux: AuxConfigInput;
}

/** Options of {@link AdapterSet.create}. */
export interface AdapterSetOptions {
  /** The adapted layers, in a fixed order (the seed of layer i is derived from its position). */
  layers: readonly AdaptedLayerSpec[];
  /** One optimizer of this config per layer, as in the paper's code. */
  optimizer: OptimizerConfigInput;
  /** Base seed of the initialisation; equal seeds give bit-identical adapters. */
  seed: number;
}

/** An adapter and its own optimizer. */
export interface AdaptedLayer {
  readonly adapter: AuxAdapter;
  readonly optimizer: Optimizer;
}

/**
 * One tenant's aux models: an adapter and an optimizer per adapted layer, keyed by tap. It is the
 * unit that ColA's fit step, LoRA's back-propagation and the merger all work on, so the three
 * agree on names, seeds and order.
 */
export class AdapterSet {
  private constructor(readonly layers: ReadonlyMap<string, AdaptedLayer>) {}

  /** Builds fresh adapters (paper initialisation) for every layer. */
  static create(opts: AdapterSetOptions): AdapterSet {
    const layers = new Map<string, AdaptedLayer>();
    opts.layers.forEach((spec, i) => {
      if (layers.has(spec.tap)) throw new Error(`AdapterSet: tap "${spec.tap}" is listed twice`);
      // A per-layer seed, so layers with equal shapes do not start identical.
      const adapter = createAdapter(spec.aux, spec.dIn, spec.dOut, { seed: (opts.seed * 7919 + i * 104729) >>> 0 });
      layers.set(spec.tap, { adapter, optimizer: createOptimizer(opts.optimizer) });
    });
    return new AdapterSet(layers);
  }

  /** Wraps already-built layers (e.g. imported from snapshots). */
  static of(layers: ReadonlyMap<string, AdaptedLayer>): AdapterSet {
    return new AdapterSet(layers);
  }

  /** The adapted taps, in creation order. */
  get taps(): string[] {
    return [...this.layers.keys()];
  }

  /** True when every adapter can be merged into its base weight. */
  get mergeable(): boolean {
    return [...this.layers.values()].every((l) => l.adapter.mergeable);
  }

  /** Unmerged injection for the base model's forward: a_m = g_m(X_m) for the adapted taps. */
  readonly inject = (tap: string, x: tf.Tensor2D): tf.Tensor2D | null => this.layers.get(tap)?.adapter.forward(x) ?? null;

  /** The merged-mode weight changes of every layer; the caller disposes them. */
  deltas(): Map<string, AdapterDelta> {
    const out = new Map<string, AdapterDelta>();
    for (const [tap, { adapter }] of this.layers) out.set(tap, deltaWeights(adapter));
    return out;
  }

  /** Every trainable variable, keyed `<tap>/<param>`. */
  variables(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [tap, { adapter }] of this.layers) for (const [name, v] of adapter.params) out.set(`${tap}/${name}`, v);
    return out;
  }

  /** Parameter values copied out, keyed `<tap>/<param>` (for comparisons and reports). */
  async values(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [key, v] of this.variables()) out.set(key, (await v.data()) as Float32Array);
    return out;
  }

  /** Bytes held by the optimizer slots: state that ColA keeps off the host. */
  optimizerBytes(): number {
    let bytes = 0;
    for (const { optimizer } of this.layers.values()) {
      for (const slot of Object.values(optimizer.exportSlots())) bytes += slot.values.byteLength;
    }
    return bytes;
  }

  /** Frees every adapter and optimizer; returns how many tensors were freed. */
  dispose(): number {
    let n = 0;
    for (const { adapter, optimizer } of this.layers.values()) n += adapter.dispose() + optimizer.dispose();
    return n;
  }
}

/** Disposes a map of deltas from {@link AdapterSet.deltas}. */
export function disposeDeltas(deltas: ReadonlyMap<string, AdapterDelta>): void {
  for (const d of deltas.values()) tf.dispose([d.dW, ...(d.db ? [d.db] : [])]);
}
