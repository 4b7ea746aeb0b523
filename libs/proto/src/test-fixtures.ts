// Test-only builders shared by this lib's *.test.ts files (not exported from index.ts).
import type { AdaptationBatch } from './gen/cola/v1/adaptation';
import { DType } from './gen/cola/v1/tensor';
import { TransferMode } from './gen/cola/v1/transfer';
import { float32ToTensor } from './tensor-codec';

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32), so failures reproduce. */
export function seededFloats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Bit patterns of a float array, so NaN, -0 and subnormals compare exactly. */
export function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

/** A tiny fp32 adaptation batch: `taps` layers of N = rows, d_in = 5, d_out = 3. */
export function sampleBatch(mode: TransferMode, opts: { rows?: number; taps?: string[]; seed?: number } = {}): AdaptationBatch {
  const rows = opts.rows ?? 4;
  const taps = opts.taps ?? ['h.0.attn.q', 'h.0.attn.v'];
  const seed = opts.seed ?? 1;
  const dIn = 5;
  const dOut = 3;
  return {
    jobId: 'ftjob-1',
    tenantId: 'tenant-a',
    seq: 7,
    auxVersion: 6,
    numBatches: 2,
    tokens: rows * 2,
    loss: 2.75,
    transfer: { mode, dtype: DType.DTYPE_FP32 },
    layers: taps.map((tap, i) =>
      mode === TransferMode.TRANSFER_MODE_GRAM
        ? {
            tap,
            payload: {
              $case: 'gram' as const,
              value: {
                xtg: float32ToTensor([dIn, dOut], seededFloats(dIn * dOut, seed * 100 + i)),
                colsumG: float32ToTensor([dOut], seededFloats(dOut, seed * 100 + i + 50)),
                rows,
              },
            },
          }
        : {
            tap,
            payload: {
              $case: 'activations' as const,
              value: {
                x: float32ToTensor([rows, dIn], seededFloats(rows * dIn, seed * 100 + i)),
                g: float32ToTensor([rows, dOut], seededFloats(rows * dOut, seed * 100 + i + 50)),
              },
            },
          },
    ),
    createdAtMs: 1_700_000_000_123,
  };
}
