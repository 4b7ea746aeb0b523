import { tf } from '../tf';
import { assertPlainTensor, numelOf, sameShape } from '../state/plain-tensor';
import type { CreateAdapterOptions } from './aux-adapter';
import { deriveSeed, randomSeed, uniformValues } from './seeded-init';

/** How one parameter starts out. */
export type ParamInit = { kind: 'zeros' } | { kind: 'uniform'; bound: number };

/** One parameter an adapter declares: its stable name, shape and initialisation. */
export interface ParamSpec {
  /** Stable name, the key of optimizer slots and snapshots. */
  name: string;
  /** Shape of the parameter. */
  shape: number[];
  /** Initialisation used when no initial values are given. */
  init: ParamInit;
}

/**
 * Creates an adapter's variables, either from given values (a snapshot) or from the seeded init.
 * Variables get no tfjs name on purpose: tfjs names are global to the process, and two tenants'
 * adapters may well both have an 'A'.
 */
export function createParams(owner: string, specs: readonly ParamSpec[], opts: CreateAdapterOptions = {}): Map<string, tf.Variable> {
  const given = opts.params;
  if (given) {
    const expected = specs.map((s) => s.name);
    for (const name of Object.keys(given)) {
      if (!expected.includes(name))
        throw new Error(`${owner}: unexpected initial parameter "${name}"; this adapter has ${expected.join(', ')}`);
    }
    for (const spec of specs) {
      const p = given[spec.name];
      if (!p) throw new Error(`${owner}: initial parameter "${spec.name}" is missing; this adapter has ${expected.join(', ')}`);
      assertPlainTensor(p, `${owner}.${spec.name}`);
      if (!sameShape(p.shape, spec.shape)) {
        throw new Error(
          `${owner}: initial parameter "${spec.name}" has shape [${p.shape.join(', ')}], expected [${spec.shape.join(', ')}]; was it saved for other layer sizes or another config?`,
        );
      }
    }
  }
  const seed = opts.seed ?? randomSeed();
  const params = new Map<string, tf.Variable>();
  for (const spec of specs) {
    const values = given
      ? given[spec.name]!.values
      : spec.init.kind === 'zeros'
        ? new Float32Array(numelOf(spec.shape))
        : uniformValues(numelOf(spec.shape), spec.init.bound, deriveSeed(seed, spec.name));
    // tf.tensor copies `values`, so the caller's snapshot stays independent of the variable.
    const initial = tf.tensor(values, spec.shape, 'float32');
    params.set(spec.name, tf.variable(initial, true));
    initial.dispose();
  }
  return params;
}

/** Disposes every parameter; returns how many tensors were freed. */
export function disposeParams(params: ReadonlyMap<string, tf.Variable>): number {
  let freed = 0;
  for (const v of params.values()) {
    if (!v.isDisposed) {
      v.dispose();
      freed++;
    }
  }
  return freed;
}

/** Reads a parameter that the adapter itself declared (a missing one is a bug, not user error). */
export function param<R extends tf.Rank>(params: ReadonlyMap<string, tf.Variable>, name: string): tf.Variable<R> {
  const v = params.get(name);
  if (!v) throw new Error(`internal: parameter "${name}" missing`);
  return v as tf.Variable<R>;
}

/** Checks the input of a forward pass, so a shape slip reads as such and not as a wasm abort. */
export function assertInput(owner: string, x: tf.Tensor, dIn: number): void {
  if (x.rank !== 2 || x.shape[1] !== dIn) {
    throw new Error(`${owner}.forward: x must be [N, ${dIn}], got [${x.shape.join(', ')}]`);
  }
}
