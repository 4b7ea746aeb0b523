import { createHash } from 'node:crypto';
import { PayloadCorruptError } from './errors/payload-corrupt-error';

/**
 * Binary frame of every blob we store: a 48-byte header, then the bytes untouched.
 *
 *   offset size
 *   0      4    magic "COLA"
 *   4      1    frame format version (1)
 *   5      3    reserved, zero
 *   8      8    byte length of the data, uint64 little-endian
 *   16     32   SHA-256 of the data
 *   48     n    data
 *
 * A header instead of a second key or a hash field: one GET returns data and checksum together,
 * they can never drift apart, and the length field tells truncation from corruption. 48 bytes
 * keeps the data 16-byte aligned inside the frame.
 */
export const FRAME_HEADER_BYTES = 48;
const MAGIC = Buffer.from('COLA', 'ascii');
const FORMAT_VERSION = 1;

/** Largest data a frame may hold: Redis' default `proto-max-bulk-len` (512 MB) minus the header. */
export const FRAME_MAX_DATA_BYTES = 512 * 1024 * 1024 - FRAME_HEADER_BYTES;

/** Hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Wraps `data` in a frame; returns the frame and the data's hex SHA-256. */
export function encodeFrame(data: Uint8Array): { frame: Buffer; sha256: string } {
  if (data.byteLength > FRAME_MAX_DATA_BYTES) {
    throw new RangeError(
      `payload of ${data.byteLength} bytes exceeds the ${FRAME_MAX_DATA_BYTES} bytes a Redis string can hold; ` +
        'split it, or use gram transfer / a smaller batch',
    );
  }
  const digest = createHash('sha256').update(data).digest();
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt8(FORMAT_VERSION, 4);
  header.writeBigUInt64LE(BigInt(data.byteLength), 8);
  digest.copy(header, 16);
  // Wrap without copying the caller's bytes twice: concat makes the one copy Redis needs.
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { frame: Buffer.concat([header, body], FRAME_HEADER_BYTES + data.byteLength), sha256: digest.toString('hex') };
}

/**
 * Writes the header of a frame whose data (from byte 48 on) are already in place, so a payload
 * encoded straight into a frame buffer needs no second copy. Returns the data's hex SHA-256.
 */
export function sealFrame(frame: Buffer): string {
  if (frame.byteLength < FRAME_HEADER_BYTES) throw new RangeError(`sealFrame: ${frame.byteLength} bytes is shorter than the header`);
  const size = frame.byteLength - FRAME_HEADER_BYTES;
  if (size > FRAME_MAX_DATA_BYTES) {
    throw new RangeError(
      `payload of ${size} bytes exceeds the ${FRAME_MAX_DATA_BYTES} bytes a Redis string can hold; split it, or use gram transfer / a smaller batch`,
    );
  }
  const digest = createHash('sha256').update(frame.subarray(FRAME_HEADER_BYTES)).digest();
  MAGIC.copy(frame, 0);
  frame.writeUInt8(FORMAT_VERSION, 4);
  frame.fill(0, 5, 8);
  frame.writeBigUInt64LE(BigInt(size), 8);
  digest.copy(frame, 16);
  return digest.toString('hex');
}

/**
 * Unwraps and verifies a frame read from `key`. Returns a view of the data inside `frame` (no
 * copy; its byteOffset is not 0). Throws {@link PayloadCorruptError} when anything is off, and
 * when `expectedSha256` is given and the frame holds another payload.
 */
export function decodeFrame(key: string, frame: Buffer, expectedSha256?: string): { data: Uint8Array; sha256: string } {
  if (frame.byteLength < FRAME_HEADER_BYTES) {
    throw new PayloadCorruptError(key, `truncated: ${frame.byteLength} bytes, shorter than the ${FRAME_HEADER_BYTES}-byte header`);
  }
  if (!frame.subarray(0, 4).equals(MAGIC)) {
    throw new PayloadCorruptError(key, 'not a framed payload (bad magic bytes); was it written by another program?');
  }
  const version = frame.readUInt8(4);
  if (version !== FORMAT_VERSION) {
    throw new PayloadCorruptError(key, `frame format version ${version} is not supported (expected ${FORMAT_VERSION})`);
  }
  const declared = frame.readBigUInt64LE(8);
  const actual = BigInt(frame.byteLength - FRAME_HEADER_BYTES);
  if (declared !== actual) {
    throw new PayloadCorruptError(
      key,
      `${actual < declared ? 'truncated' : 'padded'}: holds ${actual} data bytes, its header says ${declared}`,
    );
  }
  const stored = frame.subarray(16, FRAME_HEADER_BYTES).toString('hex');
  if (expectedSha256 !== undefined && expectedSha256.toLowerCase() !== stored) {
    throw new PayloadCorruptError(
      key,
      `it holds another payload (sha256 ${stored}) than the reference names (${expectedSha256}); it was overwritten`,
    );
  }
  const data = frame.subarray(FRAME_HEADER_BYTES);
  const computed = sha256Hex(data);
  if (computed !== stored) {
    throw new PayloadCorruptError(key, `checksum mismatch: sha256 of the data is ${computed}, the header says ${stored}`);
  }
  return { data, sha256: stored };
}
