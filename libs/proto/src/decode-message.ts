import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import { WireFormatError } from './wire-format-error';

/** The encode/decode pair every generated message constant has (e.g. `AuxState`), for generic code. */
export interface MessageCodec<T> {
  /** Serialises `message`; call `.finish()` on the result for the bytes. */
  encode(message: T): BinaryWriter;
  /** Parses protobuf bytes; throws a RangeError or Error from the runtime on malformed input. */
  decode(input: Uint8Array): T;
}

/** Encodes `message` as a Buffer that views the writer's output (no extra copy), ready for ioredis. */
export function encodeMessage<T>(codec: MessageCodec<T>, message: T): Buffer {
  const bytes = codec.encode(message).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes `bytes` as the message `typeName` (e.g. "cola.v1.AuxState"). The runtime's own errors
 * ("premature EOF", "invalid wire type") do not say what was being read; this wraps them in a
 * WireFormatError that does, so a failed job carries a readable reason.
 */
export function decodeMessage<T>(codec: MessageCodec<T>, typeName: string, bytes: Uint8Array): T {
  try {
    return codec.decode(bytes);
  } catch (e) {
    const cause = e instanceof Error ? e.message : String(e);
    throw new WireFormatError(`cannot decode ${typeName} from ${bytes.byteLength} bytes (${cause}): the payload is truncated or corrupt`, {
      cause: e,
    });
  }
}
