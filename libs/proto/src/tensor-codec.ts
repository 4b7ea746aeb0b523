import { DType, type Tensor } from './gen/cola/v1/tensor';
import { describeDtype } from './names';
import { WireFormatError } from './wire-format-error';

// Plain helpers between typed arrays and cola.v1.Tensor: raw little-endian bytes plus validation.
// No TensorFlow here (libs/proto imports nothing of ours); fp16/bf16 <-> fp32 conversion lives in
// @cola/gl (io/dtype), which hands us already-encoded bytes through bytesToTensor.

/** Bytes per element of every dtype that may appear on the wire. */
const ITEM_SIZE: ReadonlyMap<DType, number> = new Map([
  [DType.DTYPE_FP32, 4],
  [DType.DTYPE_FP16, 2],
  [DType.DTYPE_BF16, 2],
  [DType.DTYPE_INT32, 4],
]);

/** Largest value of a proto `uint32` shape entry. */
const MAX_DIM = 0xffff_ffff;

/**
 * The wire format is little-endian and the helpers below copy bytes as they are, which is only
 * right on a little-endian host. Every platform node ships for is; fail loudly rather than silently
 * swap nothing on an exotic one.
 */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndianHost(): void {
  if (!LITTLE_ENDIAN_HOST) throw new Error('cola.v1 tensors are little-endian; this big-endian host is not supported');
}

/** Bytes per element of `dtype`; throws a WireFormatError for DTYPE_UNSPECIFIED or an unknown value. */
export function dtypeItemSize(dtype: DType): number {
  const size = ITEM_SIZE.get(dtype);
  if (size === undefined) {
    throw new WireFormatError(`${describeDtype(dtype)} is not a valid tensor dtype: use DTYPE_FP32, DTYPE_FP16, DTYPE_BF16 or DTYPE_INT32`);
  }
  return size;
}

/** Number of elements of `shape` (1 for the scalar shape []); throws a WireFormatError for a bad dimension. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const [i, d] of shape.entries()) {
    if (!Number.isInteger(d) || d < 0 || d > MAX_DIM) {
      throw new WireFormatError(
        `shape [${shape.join(', ')}] has an invalid dimension ${d} at index ${i}: dimensions are integers in [0, 2^32)`,
      );
    }
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new WireFormatError(`shape [${shape.join(', ')}] has more than 2^53 elements`);
  return n;
}

/** Exact byte length of the data of a tensor with this dtype and shape. */
export function tensorByteLength(dtype: DType, shape: readonly number[]): number {
  return elementCount(shape) * dtypeItemSize(dtype);
}

/**
 * Checks that `tensor` is present, has a known dtype and a valid shape, and that its data holds
 * exactly product(shape) × itemsize bytes, so a truncated or padded payload is caught before any
 * compute sees it. Returns the tensor for chaining.
 * @param what names the tensor in the error, e.g. `layers[2] ("h.1.attn.v").activations.g`.
 */
export function validateTensor(tensor: Tensor | undefined, what = 'tensor'): Tensor {
  if (tensor === undefined) throw new WireFormatError(`${what} is missing`);
  let expected: number;
  try {
    expected = tensorByteLength(tensor.dtype, tensor.shape);
  } catch (e) {
    throw new WireFormatError(`${what}: ${(e as Error).message}`, { cause: e });
  }
  const actual = tensor.data.byteLength;
  if (actual !== expected) {
    const itemSize = dtypeItemSize(tensor.dtype);
    const shape = `[${tensor.shape.join(', ')}]`;
    throw new WireFormatError(
      `${what} holds ${actual} bytes but shape ${shape} of ${describeDtype(tensor.dtype)} needs ${expected} ` +
        `(${elementCount(tensor.shape)} elements × ${itemSize} bytes): the payload is ${actual < expected ? 'truncated' : 'padded'} or corrupt`,
    );
  }
  return tensor;
}

/**
 * Wraps already-encoded little-endian bytes as a Tensor after checking their length, e.g. the
 * output of `encodeFloats(values, 'fp16')` from @cola/gl.
 *
 * Zero-copy: the tensor's data views the same memory as `bytes`, so do not modify `bytes` until the
 * tensor has been encoded.
 */
export function bytesToTensor(dtype: DType, shape: readonly number[], bytes: Uint8Array): Tensor {
  const tensor: Tensor = { dtype, shape: [...shape], data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  try {
    return validateTensor(tensor);
  } catch (e) {
    throw new RangeError(`bytesToTensor: ${(e as Error).message}; pass the bytes that belong to this shape and dtype`, { cause: e });
  }
}

/**
 * A DTYPE_FP32 tensor of `shape` holding `values` (row-major). Zero-copy: the tensor views the
 * array's memory, so do not modify `values` until the tensor has been encoded.
 */
export function float32ToTensor(shape: readonly number[], values: Float32Array): Tensor {
  return typedToTensor('float32ToTensor', DType.DTYPE_FP32, shape, values);
}

/** A DTYPE_INT32 tensor of `shape` holding `values` (row-major); zero-copy like float32ToTensor. */
export function int32ToTensor(shape: readonly number[], values: Int32Array): Tensor {
  return typedToTensor('int32ToTensor', DType.DTYPE_INT32, shape, values);
}

/**
 * The elements of a DTYPE_FP32 tensor, validated, as a new Float32Array. Always a copy: decoded
 * bytes may start at any byte offset (a Float32Array view needs a multiple of 4) and the copy does
 * not pin the wire buffer.
 * @param what names the tensor in errors.
 */
export function tensorToFloat32(tensor: Tensor | undefined, what = 'tensor'): Float32Array {
  const t = expectDtype(tensor, DType.DTYPE_FP32, what);
  const out = new Float32Array(elementCount(t.shape));
  copyBytes(t.data, out);
  return out;
}

/** The elements of a DTYPE_INT32 tensor, validated, as a new Int32Array (a copy, as tensorToFloat32). */
export function tensorToInt32(tensor: Tensor | undefined, what = 'tensor'): Int32Array {
  const t = expectDtype(tensor, DType.DTYPE_INT32, what);
  const out = new Int32Array(elementCount(t.shape));
  copyBytes(t.data, out);
  return out;
}

function typedToTensor(fn: string, dtype: DType, shape: readonly number[], values: Float32Array | Int32Array): Tensor {
  assertLittleEndianHost();
  let count: number;
  try {
    count = elementCount(shape);
  } catch (e) {
    throw new RangeError(`${fn}: ${(e as Error).message}`, { cause: e });
  }
  if (values.length !== count) {
    throw new RangeError(
      `${fn}: shape [${shape.join(', ')}] needs ${count} values but the array holds ${values.length}; pass the array's own shape`,
    );
  }
  return { dtype, shape: [...shape], data: Buffer.from(values.buffer, values.byteOffset, values.byteLength) };
}

function expectDtype(tensor: Tensor | undefined, dtype: DType, what: string): Tensor {
  const t = validateTensor(tensor, what);
  if (t.dtype !== dtype) {
    throw new WireFormatError(
      `${what} is ${describeDtype(t.dtype)} but ${describeDtype(dtype)} was expected; convert it with @cola/gl io/dtype first`,
    );
  }
  return t;
}

/** Copies raw bytes into an aligned typed array, whatever the source's byte offset. */
function copyBytes(src: Uint8Array, dst: Float32Array | Int32Array): void {
  assertLittleEndianHost();
  new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(src);
}
