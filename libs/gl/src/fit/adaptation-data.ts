import { tf } from '../tf';

/** The raw adaptation data of one layer: its inputs X and the hidden gradient G = dL/dh~. */
export interface RawAdaptationData {
  /** Discriminant of {@link AdaptationData}. */
  kind: 'raw';
  /** Inputs of the adapted layer, [N, dIn] (N = batch × sequence rows). */
  x: tf.Tensor2D;
  /** dL/dh~ for the same rows, [N, dOut]; already carries the 1/B of a batch-mean loss. */
  g: tf.Tensor2D;
}

/**
 * The gram form of the same data, enough for linear and dropout-free lowrank aux (docs/design.md,
 * "gram transfer"): 4·dIn·dOut bytes instead of 4·N·(dIn + dOut).
 */
export interface GramAdaptationData {
  /** Discriminant of {@link AdaptationData}. */
  kind: 'gram';
  /** X^T G, [dIn, dOut]. */
  xtg: tf.Tensor2D;
  /** Column sums of G, [dOut] (the gradient of a bias). */
  colsumG: tf.Tensor1D;
}

/** What a worker fits on: raw (X, G) or its gram. */
export type AdaptationData = RawAdaptationData | GramAdaptationData;

/** Reduces raw (X, G) to its gram; new tensors, owned by the caller. */
export function gramOf(x: tf.Tensor2D, g: tf.Tensor2D): GramAdaptationData {
  assertAdaptationData({ kind: 'raw', x, g }, 'gramOf');
  // An explicit transpose: the wasm backend runs matMul with transposeA about 10x slower (measured
  // 185 ms against 16.5 ms for [4096, 128]^T x [4096, 384]).
  const [xtg, colsumG] = tf.tidy(() => [tf.matMul(tf.transpose(x), g), tf.sum<tf.Tensor1D>(g, 0)] as const);
  return { kind: 'gram', xtg, colsumG };
}

/** [dIn, dOut] of the data, after checking its tensors agree with each other. */
export function assertAdaptationData(data: AdaptationData, owner: string): { dIn: number; dOut: number } {
  switch (data.kind) {
    case 'raw': {
      const { x, g } = data;
      if (x.rank !== 2 || g.rank !== 2 || x.shape[0] !== g.shape[0]) {
        throw new Error(
          `${owner}: raw data needs x [N, dIn] and g [N, dOut] with the same N, got x [${x.shape.join(', ')}] and g [${g.shape.join(', ')}]`,
        );
      }
      return { dIn: x.shape[1], dOut: g.shape[1] };
    }
    case 'gram': {
      const { xtg, colsumG } = data;
      if (xtg.rank !== 2 || colsumG.rank !== 1 || xtg.shape[1] !== colsumG.shape[0]) {
        throw new Error(
          `${owner}: gram data needs xtg [dIn, dOut] and colsumG [dOut], got xtg [${xtg.shape.join(', ')}] and colsumG [${colsumG.shape.join(', ')}]`,
        );
      }
      return { dIn: xtg.shape[0], dOut: xtg.shape[1] };
    }
    default:
      throw new Error(`${owner}: adaptation data kind must be "raw" or "gram", got ${JSON.stringify((data as { kind?: unknown }).kind)}`);
  }
}

/** Checks the data against an adapter's widths. */
export function assertDataFits(data: AdaptationData, dIn: number, dOut: number, owner: string): void {
  const dims = assertAdaptationData(data, owner);
  if (dims.dIn !== dIn || dims.dOut !== dOut) {
    throw new Error(
      `${owner}: data is for a [${dims.dIn} → ${dims.dOut}] layer but the adapter is [${dIn} → ${dOut}]; was it routed to the wrong layer?`,
    );
  }
}

/** Disposes the data's tensors; returns how many were freed. */
export function disposeAdaptationData(data: AdaptationData): number {
  const tensors = data.kind === 'raw' ? [data.x, data.g] : [data.xtg, data.colsumG];
  let freed = 0;
  for (const t of tensors) {
    if (!t.isDisposed) {
      t.dispose();
      freed++;
    }
  }
  return freed;
}
