/**
 * Float conversions for the transfer dtypes (fp16, bf16) and for loading half-precision
 * checkpoints. Pure typed-array code: no tensors, so it runs on any backend and in any process.
 */

/** Element dtypes that cross a process boundary. */
export type WireDtype = 'fp32' | 'fp16' | 'bf16';

/** Bytes per element of each {@link WireDtype}. */
export const WIRE_ITEM_SIZE: Readonly<Record<WireDtype, number>> = { fp32: 4, fp16: 2, bf16: 2 };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary32 → binary16 with round-to-nearest-even, overflow to ±Inf, NaN kept. */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** binary16 bits → number (exact). */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** binary32 → bfloat16 bits with round-to-nearest-even (NaN stays NaN). */
export function float32ToBfloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  const rounding = 0x7fff + ((x >>> 16) & 1);
  return ((x + rounding) >>> 16) & 0xffff;
}

/** bfloat16 bits → number (exact). */
export function bfloat16BitsToFloat32(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

/**
 * Encodes float32 values as little-endian bytes of the wire dtype. The result owns a fresh buffer.
 */
export function encodeFloats(values: Float32Array, dtype: WireDtype): Uint8Array {
  const out = new Uint8Array(values.length * WIRE_ITEM_SIZE[dtype]);
  const view = new DataView(out.buffer);
  switch (dtype) {
    case 'fp32':
      for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
      break;
    case 'fp16':
      for (let i = 0; i < values.length; i++) view.setUint16(i * 2, float32ToFloat16Bits(values[i]!), true);
      break;
    case 'bf16':
      for (let i = 0; i < values.length; i++) view.setUint16(i * 2, float32ToBfloat16Bits(values[i]!), true);
      break;
  }
  return out;
}

/**
 * Decodes little-endian bytes of the wire dtype to float32. Works for any byteOffset (protobuf
 * decoders hand out unaligned subarrays) and rejects a length that is not a whole number of items.
 */
export function decodeFloats(bytes: Uint8Array, dtype: WireDtype): Float32Array {
  const size = WIRE_ITEM_SIZE[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype} values (${size} bytes each): the payload is truncated`);
  }
  const n = bytes.byteLength / size;
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'fp32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'fp16':
      for (let i = 0; i < n; i++) out[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
      break;
    case 'bf16':
      for (let i = 0; i < n; i++) out[i] = bfloat16BitsToFloat32(view.getUint16(i * 2, true));
      break;
  }
  return out;
}
