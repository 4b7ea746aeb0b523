import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_HEADER_BYTES, PayloadCorruptError, decodeFrame, encodeFrame, sha256Hex } from './index';

describe('when framing bytes', () => {
  it('should prefix a 48-byte header and decode back to the same bytes', () => {
    const data = new Uint8Array([0, 1, 2, 254, 255]);
    const { frame, sha256 } = encodeFrame(data);
    assert.equal(frame.byteLength, FRAME_HEADER_BYTES + data.byteLength);
    assert.equal(sha256, sha256Hex(data));
    const back = decodeFrame('k', frame, sha256);
    assert.deepEqual(Array.from(back.data), Array.from(data));
  });

  it('should refuse trailing bytes, an unknown format version and an uppercase-mismatched reference', () => {
    const { frame, sha256 } = encodeFrame(new Uint8Array(16));
    assert.throws(() => decodeFrame('k', Buffer.concat([frame, Buffer.from([7])])), /padded: holds 17 data bytes, its header says 16/);
    const future = Buffer.from(frame);
    future.writeUInt8(2, 4);
    assert.throws(() => decodeFrame('k', future), /frame format version 2 is not supported/);
    // References are compared case-insensitively: hex from other tools may be uppercase.
    assert.equal(decodeFrame('k', frame, sha256.toUpperCase()).sha256, sha256);
    assert.throws(() => decodeFrame('k', frame, '0'.repeat(64)), PayloadCorruptError);
  });
});
