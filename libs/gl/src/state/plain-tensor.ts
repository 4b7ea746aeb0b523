import { tf } from '../tf';

/**
 * A tensor as plain data: what crosses a process boundary or is compared bit for bit in tests.
 * Kept free of tfjs so snapshots can be built, checked and stored without a backend.
 */
export interface PlainTensor {
  /** Row-major shape; `[]` is a scalar. */
  shape: number[];
  /** The float32 values, `product(shape)` long. */
  values: Float32Array;
}

/** Number of elements a shape holds. */
export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Copies a tensor out of the backend. The copy matters: some backends hand out views of their own
 * heap, and a snapshot must not change when the tensor is later updated in place.
 */
export function toPlainTensor(t: tf.Tensor): PlainTensor {
  return { shape: [...t.shape], values: new Float32Array(t.dataSync()) };
}

/** Checks that a plain tensor's values fill its shape; `what` names it in the error. */
export function assertPlainTensor(p: PlainTensor, what: string): void {
  if (!Array.isArray(p.shape) || !p.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${what}: shape must be an array of non-negative integers, got ${JSON.stringify(p.shape)}`);
  }
  if (!(p.values instanceof Float32Array)) throw new Error(`${what}: values must be a Float32Array`);
  if (p.values.length !== numelOf(p.shape)) {
    throw new Error(`${what}: shape [${p.shape.join(', ')}] needs ${numelOf(p.shape)} values, got ${p.values.length}`);
  }
}

/** True when two shapes are equal dimension by dimension. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
