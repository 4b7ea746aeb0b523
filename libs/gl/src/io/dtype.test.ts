import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  bfloat16BitsToFloat32,
  decodeFloats,
  encodeFloats,
  encodeFloatsInto,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from './dtype';

/** Values that exercise every branch: zeros, subnormals, rounding ties, overflow, Inf and NaN. */
function probeValues(): Float32Array {
  const special = [
    0,
    -0,
    1,
    -1,
    65504,
    65520,
    70000,
    -70000,
    6e-8,
    3e-8,
    2.9e-8,
    1e-10,
    6.1e-5,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    Infinity,
    -Infinity,
    NaN,
  ];
  const v = new Float32Array(special.length + 20000);
  v.set(special);
  let s = 12345;
  for (let i = special.length; i < v.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    // Spread over many binades, both signs.
    v[i] = ((s / 2 ** 32) * 2 - 1) * 2 ** ((i % 50) - 30);
  }
  return v;
}

function u16(bytes: Uint8Array, i: number): number {
  return bytes[2 * i]! | (bytes[2 * i + 1]! << 8);
}

describe('when floats are converted for the wire', () => {
  it('should encode fp16 and bf16 bit-identically to the scalar reference', () => {
    const v = probeValues();
    const h = encodeFloats(v, 'fp16');
    const b = encodeFloats(v, 'bf16');
    for (let i = 0; i < v.length; i++) {
      assert.equal(u16(h, i), float32ToFloat16Bits(v[i]!), `fp16 of ${v[i]}`);
      assert.equal(u16(b, i), float32ToBfloat16Bits(v[i]!), `bf16 of ${v[i]}`);
    }
  });

  it('should decode every fp16 and bf16 bit pattern exactly, at any byte offset', () => {
    const all = new Uint8Array(2 * 65536 + 1);
    for (let i = 0; i < 65536; i++) {
      all[1 + 2 * i] = i & 0xff;
      all[2 + 2 * i] = i >>> 8;
    }
    const odd = all.subarray(1);
    const h = decodeFloats(odd, 'fp16');
    const b = decodeFloats(odd, 'bf16');
    for (let i = 0; i < 65536; i++) {
      assert.ok(Object.is(h[i], Math.fround(float16BitsToFloat32(i))), `fp16 pattern ${i}`);
      assert.ok(Object.is(b[i], bfloat16BitsToFloat32(i)), `bf16 pattern ${i}`);
    }
  });

  it('should view aligned fp32 bytes without a copy and copy unaligned ones once into a given buffer', () => {
    const v = probeValues();
    const aligned = encodeFloats(v, 'fp32');
    const view = decodeFloats(aligned, 'fp32');
    assert.equal(view.buffer, aligned.buffer);
    const shifted = new Uint8Array(aligned.byteLength + 1);
    encodeFloatsInto(v, 'fp32', shifted, 1);
    const scratch = new Float32Array(v.length + 8);
    const copy = decodeFloats(shifted.subarray(1), 'fp32', scratch);
    assert.equal(copy.buffer, scratch.buffer);
    assert.deepEqual(copy, v);
  });

  it('should refuse a byte length that is not a whole number of values, and a destination too small', () => {
    assert.throws(() => decodeFloats(new Uint8Array(7), 'fp32'), /not a whole number of fp32 values.*truncated/);
    assert.throws(() => decodeFloats(new Uint8Array(3), 'fp16'), /truncated/);
    assert.throws(() => encodeFloatsInto(new Float32Array(4), 'fp16', new Uint8Array(7), 0), /do not fit/);
  });
});
