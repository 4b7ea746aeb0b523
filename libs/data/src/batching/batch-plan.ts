import { mixSeed, mulberry32, permutation } from '../rng';
import type { BatchIterable, BatchOrderOptions, PaddedBatchOptions } from './token-batch';

/** Throws a RangeError naming the function and option unless `value` is an integer >= min. */
export function requireInt(fn: string, name: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${fn}: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/** Validates the shared options once, before any batch is built. */
export function checkOrderOptions(fn: string, opts: BatchOrderOptions): void {
  requireInt(fn, 'batchSize', opts.batchSize, 1);
  if (opts.shuffleSeed !== undefined) requireInt(fn, 'shuffleSeed', opts.shuffleSeed, 0);
  if (opts.epoch !== undefined) requireInt(fn, 'epoch', opts.epoch, 0);
}

/** Validates the padded-batch options; `minLength` is the shortest row the function can build. */
export function checkPaddedOptions(fn: string, opts: PaddedBatchOptions, minLength: number): void {
  checkOrderOptions(fn, opts);
  requireInt(fn, 'maxLength', opts.maxLength, minLength);
  if (opts.padTo !== undefined && opts.padTo !== 'longest' && opts.padTo !== 'maxLength') {
    throw new RangeError(`${fn}: padTo must be 'longest' or 'maxLength', got ${String(opts.padTo)}`);
  }
}

/** Row order for one epoch: the input order, or a permutation seeded by (shuffleSeed, epoch). */
export function rowOrder(n: number, opts: BatchOrderOptions): number[] {
  if (opts.shuffleSeed === undefined) return Array.from({ length: n }, (_, i) => i);
  return permutation(n, mulberry32(mixSeed(opts.shuffleSeed, opts.epoch ?? 0)));
}

/**
 * Splits a row order into batches and builds each one lazily, so a large corpus never holds
 * all its batches in memory at once.
 */
export function planBatches<B>(order: readonly number[], opts: BatchOrderOptions, build: (rows: number[]) => B): BatchIterable<B> {
  const size = opts.batchSize;
  const numBatches = opts.dropLast ? Math.floor(order.length / size) : Math.ceil(order.length / size);
  return {
    numBatches,
    *[Symbol.iterator]() {
      for (let b = 0; b < numBatches; b++) yield build(order.slice(b * size, (b + 1) * size));
    },
  };
}

/** Fills right-padded ids/mask arrays [rows.length, seqLen] from token rows no longer than seqLen. */
export function padRows(rows: readonly ArrayLike<number>[], seqLen: number, padId: number): { ids: Int32Array; mask: Int32Array } {
  const ids = new Int32Array(rows.length * seqLen).fill(padId);
  const mask = new Int32Array(rows.length * seqLen);
  rows.forEach((row, r) => {
    ids.set(row, r * seqLen);
    mask.fill(1, r * seqLen, r * seqLen + row.length);
  });
  return { ids, mask };
}

/** The padded length of a batch under the padTo option. */
export function batchLength(rows: readonly ArrayLike<number>[], opts: PaddedBatchOptions): number {
  if (opts.padTo === 'maxLength') return opts.maxLength;
  return rows.reduce((m, r) => Math.max(m, r.length), 1);
}
