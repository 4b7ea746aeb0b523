import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DType,
  WireFormatError,
  bytesToTensor,
  dtypeFromName,
  dtypeItemSize,
  dtypeToName,
  elementCount,
  float32ToTensor,
  int32ToTensor,
  tensorByteLength,
  tensorToFloat32,
  tensorToInt32,
  transferModeFromName,
  transferModeToName,
  validateTensor,
  type Tensor,
} from './index';
import { bitsOf, seededFloats } from './test-fixtures';

/** A copy of `bytes` whose first byte sits at `offset` inside a larger (unpooled) buffer. */
function atOffset(bytes: Uint8Array, offset: number): Buffer {
  const backing = Buffer.alloc(bytes.byteLength + offset + 3, 0xee);
  backing.set(bytes, offset);
  return backing.subarray(offset, offset + bytes.byteLength);
}

describe('when typed arrays become tensors and back', () => {
  it('should round-trip float32 values bit-exactly, specials included', () => {
    const values = seededFloats(24, 3);
    values.set([Number.NaN, -0, Infinity, 1e-40], 4);
    const t = float32ToTensor([2, 3, 4], values);
    assert.equal(t.dtype, DType.DTYPE_FP32);
    assert.equal(t.data.byteLength, tensorByteLength(DType.DTYPE_FP32, [2, 3, 4]));
    assert.deepStrictEqual(bitsOf(tensorToFloat32(t)), bitsOf(values));
  });

  it('should copy from data at any byte offset, including offsets that are not a multiple of 4', () => {
    const values = seededFloats(33, 4);
    const raw = new Uint8Array(values.buffer.slice(0));
    for (const offset of [0, 1, 2, 3, 6, 7]) {
      const t: Tensor = { dtype: DType.DTYPE_FP32, shape: [3, 11], data: atOffset(raw, offset) };
      assert.equal(t.data.byteOffset, offset, 'Buffer.alloc is unpooled, so the view starts exactly at offset');
      const out = tensorToFloat32(t);
      assert.equal(out.byteOffset, 0);
      assert.deepStrictEqual(bitsOf(out), bitsOf(values));
    }
    const ints = new Int32Array([1, -2, 2 ** 31 - 1, -(2 ** 31), 0]);
    const it: Tensor = { dtype: DType.DTYPE_INT32, shape: [5], data: atOffset(new Uint8Array(ints.buffer), 3) };
    assert.deepStrictEqual(tensorToInt32(it), ints);
  });

  it('should view the source memory without copying and keep the caller’s shape array separate', () => {
    const values = new Float32Array([1, 2, 3, 4]);
    const shape = [2, 2];
    const t = float32ToTensor(shape, values);
    values[0] = 9;
    assert.equal(t.data.readFloatLE(0), 9, 'zero-copy: the tensor sees the write');
    shape[0] = 7;
    assert.deepStrictEqual(t.shape, [2, 2]);
    assert.deepStrictEqual(int32ToTensor([], new Int32Array([5])).shape, [], 'a scalar has the empty shape');
  });

  it('should wrap pre-encoded fp16/bf16 bytes after checking their length', () => {
    const bytes = new Uint8Array([0, 60, 0, 188, 0, 0]); // fp16 1, -1, 0 little-endian
    const t = bytesToTensor(DType.DTYPE_FP16, [3], bytes);
    assert.deepStrictEqual([...t.data], [...bytes]);
    assert.throws(() => bytesToTensor(DType.DTYPE_FP16, [4], bytes), /needs 8.*truncated/);
    assert.throws(
      () => tensorToFloat32(t, 'w'),
      (e: unknown) => e instanceof WireFormatError && /w is DTYPE_FP16 but DTYPE_FP32 was expected/.test(e.message),
    );
  });
});

describe('when a tensor does not match its own shape and dtype', () => {
  const good = float32ToTensor([2, 3], seededFloats(6, 8));

  it('should report a truncated or padded payload with both byte counts', () => {
    const short: Tensor = { ...good, data: good.data.subarray(0, 22) };
    assert.throws(
      () => validateTensor(short, 'layers[0].x'),
      (e: unknown) =>
        e instanceof WireFormatError &&
        e.message ===
          'layers[0].x holds 22 bytes but shape [2, 3] of DTYPE_FP32 needs 24 (6 elements × 4 bytes): the payload is truncated or corrupt',
    );
    const long: Tensor = { ...good, data: Buffer.concat([good.data, Buffer.alloc(4)]) };
    assert.throws(() => tensorToFloat32(long), /holds 28 bytes .* padded or corrupt/);
    assert.throws(() => validateTensor(undefined, 'gram.xtg'), /gram.xtg is missing/);
  });

  it('should reject unspecified or unknown dtypes and impossible shapes', () => {
    assert.throws(() => validateTensor({ ...good, dtype: DType.DTYPE_UNSPECIFIED }), /DTYPE_UNSPECIFIED is not a valid tensor dtype/);
    assert.throws(() => validateTensor({ ...good, dtype: 42 as DType }), /unknown dtype 42/);
    assert.throws(() => elementCount([2, -1]), /invalid dimension -1 at index 1/);
    assert.throws(() => elementCount([2 ** 32]), WireFormatError);
    assert.throws(() => elementCount([2 ** 31, 2 ** 31, 4]), /more than 2\^53/);
    assert.equal(elementCount([]), 1);
    assert.equal(elementCount([3, 0, 5]), 0);
  });

  it('should refuse a typed array whose length disagrees with the shape, saying how to fix it', () => {
    assert.throws(
      () => float32ToTensor([2, 3], new Float32Array(5)),
      (e: unknown) => e instanceof RangeError && /needs 6 values but the array holds 5; pass the array's own shape/.test(e.message),
    );
    assert.throws(() => int32ToTensor([1.5], new Int32Array(1)), RangeError);
  });
});

describe('when dtype and transfer-mode names are mapped', () => {
  it('should map every short name both ways and list the valid names on a typo', () => {
    for (const name of ['fp32', 'fp16', 'bf16', 'int32'] as const) {
      assert.equal(dtypeToName(dtypeFromName(name)), name);
      assert.equal(dtypeItemSize(dtypeFromName(name)), name.endsWith('16') ? 2 : 4);
    }
    for (const name of ['activations', 'gram'] as const) assert.equal(transferModeToName(transferModeFromName(name)), name);
    assert.throws(() => dtypeFromName('float16'), /unknown dtype "float16": use one of fp32, fp16, bf16, int32/);
    assert.throws(() => transferModeFromName('grams'), /use one of activations, gram/);
    assert.throws(() => dtypeToName(DType.DTYPE_UNSPECIFIED), RangeError);
  });
});
