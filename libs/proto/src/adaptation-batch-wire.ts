import { BinaryReader } from '@bufbuild/protobuf/wire';
import { AdaptationBatch } from './gen/cola/v1/adaptation';
import type { DType, Tensor } from './gen/cola/v1/tensor';
import { validateAdaptationBatch } from './adaptation-batch-validator';
import { decodeMessage, encodeMessage } from './decode-message';
import { tensorByteLength } from './tensor-codec';
import { WireFormatError } from './wire-format-error';

// Zero-copy codec of AdaptationBatch around the generated code (which is never edited by hand).
//
// Decode: the generated decoder copies every `bytes` field (`Buffer.from(reader.bytes())`), and
// the only bytes fields of an AdaptationBatch are tensor data. The reader below hands it a 4-byte
// marker instead of the data, remembers a view of the real bytes, and afterwards swaps each
// marker for its view: the tensors' data are subarrays of the payload, never copies.
//
// Encode: the generated writer grows one buffer by doubling and shifts a nested message's bytes
// whenever its length prefix needs more than one byte, so a multi-MB tensor is copied several
// times. The writer below computes the exact size first and writes every field once, straight
// into a buffer the caller provides (a pooled, framed one on the gpu-host); tensor data are
// written by the caller's callback (a bulk copy or the dtype conversion). The header fields are
// encoded by the generated code; the repeated `layers` field follows them (protobuf accepts
// fields in any order, and the generated decoder reads them back into the same message).

const MARKER_BYTES = 4;

/** A BinaryReader whose bytes() returns a numbered marker and records a view of the real bytes. */
class ViewingReader extends BinaryReader {
  readonly views: Uint8Array[] = [];

  override bytes(): Uint8Array {
    const view = super.bytes();
    const marker = new Uint8Array(MARKER_BYTES);
    new DataView(marker.buffer).setUint32(0, this.views.length, true);
    this.views.push(view);
    return marker;
  }
}

function tensorsOf(batch: AdaptationBatch): Tensor[] {
  const out: Tensor[] = [];
  for (const l of batch.layers) {
    const p = l.payload;
    if (p?.$case === 'activations') out.push(...[p.value.x, p.value.g].filter((t): t is Tensor => t !== undefined));
    else if (p?.$case === 'gram') out.push(...[p.value.xtg, p.value.colsumG].filter((t): t is Tensor => t !== undefined));
  }
  return out;
}

/**
 * Decodes an AdaptationBatch whose tensor data are views of `bytes` (no copy). Keep `bytes`
 * alive and unchanged while the result is used. Throws a WireFormatError for malformed input.
 */
export function decodeAdaptationBatchView(bytes: Uint8Array): AdaptationBatch {
  const reader = new ViewingReader(bytes);
  const batch = decodeMessage(
    { encode: AdaptationBatch.encode, decode: () => AdaptationBatch.decode(reader) },
    'cola.v1.AdaptationBatch',
    bytes,
  );
  const used = new Set<number>();
  for (const t of tensorsOf(batch)) {
    if (t.data.byteLength === 0) continue; // empty data is absent on the wire: reader.bytes() never ran
    const index = t.data.byteLength === MARKER_BYTES ? t.data.readUInt32LE(0) : -1;
    const view = reader.views[index];
    if (view === undefined || used.has(index))
      throw new WireFormatError('cannot decode cola.v1.AdaptationBatch: a tensor has data that did not come from the payload');
    used.add(index);
    t.data = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  }
  if (used.size !== reader.views.length)
    throw new WireFormatError(
      `cannot decode cola.v1.AdaptationBatch: ${reader.views.length - used.size} bytes field(s) outside tensor data (unknown schema?)`,
    );
  return batch;
}

/** A tensor to be written: its header, and a callback that writes its `byteLength` data bytes. */
export interface TensorSource {
  dtype: DType;
  shape: readonly number[];
  /** Data bytes; must equal product(shape) × the dtype's item size. */
  byteLength: number;
  /** Writes exactly `byteLength` bytes into `out` at `offset`. */
  write(out: Uint8Array, offset: number): void;
}

/** One layer of an AdaptationBatch to be written. */
export interface LayerSource {
  tap: string;
  payload:
    | { $case: 'activations'; x: TensorSource; g: TensorSource }
    | { $case: 'gram'; xtg: TensorSource; colsumG: TensorSource; /** Rows reduced into the gram (fixed64). */ rows: number };
}

/** A planned AdaptationBatch: its exact size, and a writer that fills a buffer of that size. */
export interface AdaptationBatchPlan {
  /** Encoded bytes. */
  size: number;
  /** Writes the batch into `out` (at least `size` bytes; written from 0) and checks what it wrote. Returns `out.subarray(0, size)`. */
  write(out: Uint8Array): Uint8Array;
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(out: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}

/** Bytes of a length-delimited field with a one-byte tag. */
function fieldSize(body: number): number {
  return 1 + varintSize(body) + body;
}

const utf8 = new TextEncoder();

function tensorBody(t: TensorSource): { size: number; shape: number } {
  const expected = tensorByteLength(t.dtype, t.shape);
  if (expected !== t.byteLength)
    throw new WireFormatError(`tensor of shape [${t.shape.join(', ')}] declares ${t.byteLength} data bytes but needs ${expected}`);
  let size = 0;
  if (t.dtype !== 0) size += 1 + varintSize(t.dtype);
  let shape = 0;
  for (const d of t.shape) shape += varintSize(d);
  if (t.shape.length > 0) size += fieldSize(shape);
  if (t.byteLength > 0) size += fieldSize(t.byteLength);
  return { size, shape };
}

function writeTensor(out: Uint8Array, pos: number, tag: number, t: TensorSource): number {
  const { size, shape } = tensorBody(t);
  out[pos++] = tag;
  pos = writeVarint(out, pos, size);
  if (t.dtype !== 0) {
    out[pos++] = 8;
    pos = writeVarint(out, pos, t.dtype);
  }
  if (t.shape.length > 0) {
    out[pos++] = 18;
    pos = writeVarint(out, pos, shape);
    for (const d of t.shape) pos = writeVarint(out, pos, d);
  }
  if (t.byteLength > 0) {
    out[pos++] = 26;
    pos = writeVarint(out, pos, t.byteLength);
    t.write(out, pos);
    pos += t.byteLength;
  }
  return pos;
}

function payloadBody(l: LayerSource): number {
  const p = l.payload;
  if (p.$case === 'activations') return fieldSize(tensorBody(p.x).size) + fieldSize(tensorBody(p.g).size);
  return fieldSize(tensorBody(p.xtg).size) + fieldSize(tensorBody(p.colsumG).size) + (p.rows !== 0 ? 9 : 0);
}

/**
 * Plans an AdaptationBatch for the zero-copy writer. `header` is every field but `layers`. The
 * writer validates what it wrote (a view decode, no tensor copy) so a producer bug fails here.
 */
export function planAdaptationBatch(header: Omit<AdaptationBatch, 'layers'>, layers: readonly LayerSource[]): AdaptationBatchPlan {
  const head = encodeMessage(AdaptationBatch, { ...header, layers: [] });
  const taps = layers.map((l) => utf8.encode(l.tap));
  const bodies = layers.map((l, i) => {
    const payload = payloadBody(l);
    return { payload, layer: (taps[i]!.length > 0 ? fieldSize(taps[i]!.length) : 0) + fieldSize(payload) };
  });
  const size = head.byteLength + bodies.reduce((a, b) => a + fieldSize(b.layer), 0);
  return {
    size,
    write(out: Uint8Array): Uint8Array {
      if (out.byteLength < size)
        throw new RangeError(`planAdaptationBatch: the buffer holds ${out.byteLength} bytes, the batch needs ${size}`);
      out.set(head, 0);
      let pos = head.byteLength;
      layers.forEach((l, i) => {
        const { payload, layer } = bodies[i]!;
        out[pos++] = (9 << 3) | 2;
        pos = writeVarint(out, pos, layer);
        if (taps[i]!.length > 0) {
          out[pos++] = 10;
          pos = writeVarint(out, pos, taps[i]!.length);
          out.set(taps[i]!, pos);
          pos += taps[i]!.length;
        }
        const p = l.payload;
        out[pos++] = p.$case === 'activations' ? 18 : 26;
        pos = writeVarint(out, pos, payload);
        if (p.$case === 'activations') {
          pos = writeTensor(out, pos, 10, p.x);
          pos = writeTensor(out, pos, 18, p.g);
        } else {
          pos = writeTensor(out, pos, 10, p.xtg);
          pos = writeTensor(out, pos, 18, p.colsumG);
          if (p.rows !== 0) {
            out[pos++] = (3 << 3) | 1;
            new DataView(out.buffer, out.byteOffset + pos, 8).setBigUint64(0, BigInt(p.rows), true);
            pos += 8;
          }
        }
      });
      if (pos !== size) throw new Error(`planAdaptationBatch: wrote ${pos} bytes, planned ${size}`);
      const bytes = out.subarray(0, size);
      validateAdaptationBatch(decodeAdaptationBatchView(bytes));
      return bytes;
    },
  };
}
