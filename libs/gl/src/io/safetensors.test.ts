import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors, f32Tensor, SafetensorsError, toFloat32 } from './safetensors';
import { decodeFloats, encodeFloats } from './dtype';

describe('when tensors are written to safetensors and read back', () => {
  it('should return equal bytes, shapes, dtypes and metadata', () => {
    const a = f32Tensor([2, 3], new Float32Array([1, -2, 3.5, 0, 1e-8, -1e8]));
    const b = { dtype: 'F16' as const, shape: [4], data: encodeFloats(new Float32Array([1, 0.5, -2, 65504]), 'fp16') };
    const bytes = encodeSafetensors({ 'h.0.attn.c_attn.weight': a, 'wte.weight': b }, { format: 'pt' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal((8 + headerLen) % 8, 0, 'data starts 8-byte aligned');
    const { tensors, metadata } = decodeSafetensors(bytes);
    assert.deepEqual(metadata, { format: 'pt' });
    assert.deepEqual(toFloat32(tensors['h.0.attn.c_attn.weight']!), new Float32Array([1, -2, 3.5, 0, 1e-8, -1e8]));
    assert.deepEqual(toFloat32(tensors['wte.weight']!), new Float32Array([1, 0.5, -2, 65504]));
    assert.deepEqual(tensors['wte.weight']!.shape, [4]);
  });

  it('should be byte-identical for equal inputs whatever the key order', () => {
    const t1 = f32Tensor([1], new Float32Array([1]));
    const t2 = f32Tensor([1], new Float32Array([2]));
    assert.deepEqual(encodeSafetensors({ a: t1, b: t2 }), encodeSafetensors({ b: t2, a: t1 }));
  });
});

describe('when a safetensors buffer is truncated or wrong', () => {
  it('should throw a SafetensorsError that says so', () => {
    const bytes = encodeSafetensors({ w: f32Tensor([8], new Float32Array(8).fill(1)) });
    assert.throws(
      () => decodeSafetensors(bytes.subarray(0, bytes.byteLength - 4)),
      (e: unknown) => e instanceof SafetensorsError && /truncated/.test(e.message),
    );
    assert.throws(() => decodeSafetensors(new Uint8Array(4)), SafetensorsError);
    assert.throws(() => f32Tensor([3], new Float32Array(2)), /needs 3 values/);
  });
});

describe('when floats go through fp16 and bf16', () => {
  it('should round to nearest and keep specials', () => {
    const v = new Float32Array([0, -0, 1, -1.5, 3.14159, 65504, 70000, 1e-7, Infinity, NaN, 1 / 3]);
    const h = decodeFloats(encodeFloats(v, 'fp16'), 'fp16');
    assert.equal(h[2], 1);
    assert.equal(h[3], -1.5);
    assert.equal(h[5], 65504);
    assert.equal(h[6], Infinity, 'overflow goes to Inf');
    assert.ok(Number.isNaN(h[9]!));
    assert.ok(Math.abs(h[4]! - 3.14159) < 2e-3);
    assert.ok(Math.abs(h[10]! - 1 / 3) / (1 / 3) < 1e-3);
    const b = decodeFloats(encodeFloats(v, 'bf16'), 'bf16');
    assert.equal(b[3], -1.5);
    assert.ok(Math.abs(b[4]! - 3.14159) / 3.14159 < 8e-3);
    assert.ok(Math.abs(b[6]! - 70000) / 70000 < 8e-3, 'bf16 keeps fp32 range');
    assert.ok(Number.isNaN(b[9]!));
  });

  it('should decode from an unaligned view and reject a partial item', () => {
    const raw = encodeFloats(new Float32Array([1.25, -7]), 'fp32');
    const padded = new Uint8Array(raw.byteLength + 1);
    padded.set(raw, 1);
    assert.deepEqual(decodeFloats(padded.subarray(1), 'fp32'), new Float32Array([1.25, -7]));
    assert.throws(() => decodeFloats(raw.subarray(0, 7), 'fp32'), /truncated/);
  });
});
