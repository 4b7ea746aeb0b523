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

// Whole-array conversions: bit operations on a Uint32 view of the floats and a 64k lookup table
// for fp16 → fp32, so no element goes through Math.pow or a per-element DataView call.

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let fp16Table: Float32Array | undefined;

/** fp16 bits → fp32 value for all 65,536 patterns (256 kB), built on first use. */
function fp16ToFp32Table(): Float32Array {
  if (fp16Table) return fp16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = float16BitsToFloat32(h);
  fp16Table = t;
  return t;
}

function assertLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new Error('wire tensors are little-endian; this big-endian host is not supported');
}

/** Bytes `values` take on the wire in `dtype`. */
export function wireByteLength(count: number, dtype: WireDtype): number {
  return count * WIRE_ITEM_SIZE[dtype];
}

/**
 * Writes float32 values as little-endian bytes of the wire dtype into `out` at `offset` (any
 * alignment): fp32 is one bulk copy; fp16 and bf16 round to nearest even with bit operations.
 */
export function encodeFloatsInto(values: Float32Array, dtype: WireDtype, out: Uint8Array, offset: number): void {
  assertLittleEndian();
  const n = values.length;
  if (offset < 0 || offset + n * WIRE_ITEM_SIZE[dtype] > out.byteLength)
    throw new RangeError(`encodeFloatsInto: ${n} ${dtype} values do not fit at offset ${offset} of ${out.byteLength} bytes`);
  if (dtype === 'fp32') {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
    return;
  }
  const bits = new Uint32Array(values.buffer, values.byteOffset, n);
  let o = offset;
  if (dtype === 'bf16') {
    for (let i = 0; i < n; i++, o += 2) {
      const x = bits[i]!;
      const b = (x & 0x7f800000) === 0x7f800000 && x & 0x7fffff ? (x >>> 16) | 0x40 : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
      out[o] = b & 0xff;
      out[o + 1] = b >>> 8;
    }
    return;
  }
  for (let i = 0; i < n; i++, o += 2) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let h: number;
    if (exp === 0xff) h = sign | 0x7c00 | (x & 0x7fffff ? 0x200 : 0);
    else if (exp > 142) h = sign | 0x7c00;
    else if (exp >= 113) {
      // Normal half: keep 10 mantissa bits, round to nearest even (a carry into the exponent is right, up to Inf).
      const m = x & 0x7fffff;
      h = (((exp - 112) << 10) | (m >>> 13)) + ((m & 0x1fff) > 0x1000 || ((m & 0x1fff) === 0x1000 && (m >>> 13) & 1) ? 1 : 0);
      h |= sign;
    } else if (exp < 102) h = sign;
    else {
      const m = (x & 0x7fffff) | 0x800000;
      const shift = 126 - exp;
      let half = m >>> shift;
      const rem = m & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      if (rem > mid || (rem === mid && half & 1)) half++;
      h = sign | half;
    }
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
  }
}

/**
 * Encodes float32 values as little-endian bytes of the wire dtype. The result owns a fresh buffer.
 */
export function encodeFloats(values: Float32Array, dtype: WireDtype): Uint8Array {
  const out = new Uint8Array(wireByteLength(values.length, dtype));
  encodeFloatsInto(values, dtype, out, 0);
  return out;
}

/**
 * Decodes little-endian bytes of the wire dtype to float32. Works for any byteOffset (protobuf
 * decoders hand out unaligned subarrays) and rejects a length that is not a whole number of items.
 * fp32 is returned as a view of `bytes` when it is 4-byte aligned, else as one bulk copy (into
 * `into` when given and large enough, which saves a fresh buffer; the result then views `into`).
 */
export function decodeFloats(bytes: Uint8Array, dtype: WireDtype, into?: Float32Array): Float32Array {
  assertLittleEndian();
  const size = WIRE_ITEM_SIZE[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype} values (${size} bytes each): the payload is truncated`);
  }
  const n = bytes.byteLength / size;
  if (dtype === 'fp32' && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  const out = into && into.length >= n ? into.subarray(0, n) : new Float32Array(n);
  switch (dtype) {
    case 'fp32':
      new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
      break;
    case 'fp16': {
      const table = fp16ToFp32Table();
      for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = table[bytes[j]! | (bytes[j + 1]! << 8)]!;
      break;
    }
    case 'bf16': {
      const bits = new Uint32Array(out.buffer, out.byteOffset, n);
      for (let i = 0, j = 0; i < n; i++, j += 2) bits[i] = ((bytes[j]! | (bytes[j + 1]! << 8)) << 16) >>> 0;
      break;
    }
  }
  return out;
}
