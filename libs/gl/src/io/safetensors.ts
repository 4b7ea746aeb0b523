/**
 * The safetensors container (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header `{name: {dtype, shape, data_offsets}, __metadata__}`, then the raw
 * little-endian tensor bytes. Used for checkpoints (GPT-2 names, so real GPT-2 files load) and
 * for aux state blobs, so one reader covers both.
 */
import { decodeFloats, encodeFloats } from './dtype';

/** Element types this codec reads and writes. */
export type StDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8';

/** One tensor as stored: raw little-endian bytes plus dtype and shape. */
export interface StTensor {
  /** Element type of {@link data}. */
  dtype: StDtype;
  /** Row-major shape; `[]` is a scalar. */
  shape: number[];
  /** Raw little-endian bytes, `product(shape) * itemsize(dtype)` long. */
  data: Uint8Array;
}

const ITEM_SIZE: Readonly<Record<StDtype, number>> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, U8: 1 };

/** Raised for a file that is not valid safetensors; the message says what is wrong. */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Wraps float32 values as an F32 tensor (copying the bytes little-endian). */
export function f32Tensor(shape: number[], values: Float32Array): StTensor {
  if (numel(shape) !== values.length) {
    throw new SafetensorsError(`shape [${shape.join(', ')}] needs ${numel(shape)} values, got ${values.length}`);
  }
  return { dtype: 'F32', shape: [...shape], data: encodeFloats(values, 'fp32') };
}

/** Reads any float tensor (F32, F16, BF16) as float32 values. */
export function toFloat32(t: StTensor): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return decodeFloats(t.data, 'fp32');
    case 'F16':
      return decodeFloats(t.data, 'fp16');
    case 'BF16':
      return decodeFloats(t.data, 'bf16');
    default:
      throw new SafetensorsError(`tensor of dtype ${t.dtype} is not a float tensor`);
  }
}

/**
 * Serialises tensors into one safetensors buffer. Names are written in sorted order so equal
 * inputs give byte-equal files (checksums and caches rely on that).
 */
export function encodeSafetensors(tensors: Record<string, StTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const expected = numel(t.shape) * ITEM_SIZE[t.dtype];
    if (t.data.byteLength !== expected) {
      throw new SafetensorsError(`tensor "${name}" [${t.shape.join(', ')}] ${t.dtype} needs ${expected} bytes, has ${t.data.byteLength}`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  let json = JSON.stringify(header);
  // The format asks for the data to start 8-byte aligned; pad the header with spaces.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const name of names) {
    out.set(tensors[name]!.data, pos);
    pos += tensors[name]!.data.byteLength;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a safetensors buffer. Tensor `data` are views into `bytes` (no copy). */
export function decodeSafetensors(bytes: Uint8Array): { tensors: Record<string, StTensor>; metadata: Record<string, string> } {
  if (bytes.byteLength < 8) throw new SafetensorsError(`buffer of ${bytes.byteLength} bytes is too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (8 + headerLen > bytes.byteLength) {
    throw new SafetensorsError(`header claims ${headerLen} bytes but the buffer has ${bytes.byteLength - 8}: truncated file`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isRecord(header)) throw new SafetensorsError('header is not a JSON object');
  const body = bytes.subarray(8 + headerLen);
  const tensors: Record<string, StTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (isRecord(entry)) metadata = Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, String(v)]));
      continue;
    }
    if (!isRecord(entry)) throw new SafetensorsError(`tensor "${name}" has no header entry object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !(dtype in ITEM_SIZE))
      throw new SafetensorsError(`tensor "${name}" has unsupported dtype ${String(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new SafetensorsError(`tensor "${name}" has a bad shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2) throw new SafetensorsError(`tensor "${name}" has bad data_offsets`);
    const [begin, end] = offsets as [number, number];
    const dt = dtype as StDtype;
    if (end > body.byteLength || begin > end || end - begin !== numel(shape as number[]) * ITEM_SIZE[dt]) {
      throw new SafetensorsError(
        `tensor "${name}" bytes [${begin}, ${end}) do not fit its shape or the file (${body.byteLength} data bytes): truncated or corrupt`,
      );
    }
    tensors[name] = { dtype: dt, shape: shape as number[], data: body.subarray(begin, end) };
  }
  return { tensors, metadata };
}
