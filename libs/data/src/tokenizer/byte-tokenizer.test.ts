import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ByteTokenizer } from './byte-tokenizer';

const tok = new ByteTokenizer();

describe('when encoding and decoding text', () => {
  it('should map ASCII to its byte values and back', () => {
    const ids = tok.encode('Call me Ishmael.');
    assert.deepEqual(ids.slice(0, 4), [67, 97, 108, 108]);
    assert.equal(ids.length, 16);
    assert.equal(tok.decode(ids), 'Call me Ishmael.');
  });

  it('should round-trip multibyte UTF-8 (accents, CJK, emoji, em dash)', () => {
    const text = 'naïve café — 東京 🐋 end';
    const ids = tok.encode(text);
    assert.equal(ids.length, new TextEncoder().encode(text).length);
    assert.ok(ids.length > text.length, 'multibyte characters take more than one id');
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 256));
    assert.equal(tok.decode(ids), text);
    assert.equal(tok.decode(Int32Array.from(ids)), text);
  });

  it('should skip pad and eos when decoding', () => {
    const ids = [...tok.encode('ab'), tok.eosId, ...tok.encode('c'), tok.padId, tok.padId];
    assert.equal(tok.decode(ids), 'abc');
  });

  it('should tolerate a multibyte character cut in the middle', () => {
    const ids = tok.encode('ok 🐋');
    const cut = ids.slice(0, ids.length - 2);
    assert.equal(tok.decode(cut), 'ok \uFFFD');
  });

  it('should reject ids outside the vocabulary with the position', () => {
    assert.throws(() => tok.decode([65, 258]), /token id 258 at position 1/);
    assert.throws(() => tok.decode([-1]), RangeError);
  });
});

describe('when decoding ids one at a time', () => {
  const streamed = (ids: readonly number[]): string[] => {
    const d = tok.streamDecoder();
    return [...ids.map((id) => d.push(id)), d.end()];
  };

  it('should give each character with its last byte, and join to exactly what decode gives', () => {
    const ids = [...tok.encode('a é 🐋'), tok.eosId];
    const pieces = streamed(ids);
    // 'a', ' ', then é's two bytes, ' ', then the whale's four bytes, then eos and the end.
    assert.deepEqual(pieces, ['a', ' ', '', 'é', ' ', '', '', '', '🐋', '', '']);
    assert.equal(pieces.join(''), tok.decode(ids));
  });

  it('should end a cut character as decode does, and keep separate streams apart', () => {
    const cut = tok.encode('ok 🐋').slice(0, -2);
    const a = tok.streamDecoder();
    const b = tok.streamDecoder();
    const out = cut.map((id) => a.push(id) + b.push(65)).join('');
    assert.equal(out, 'oAkA AAA', 'the half whale waits in its own decoder');
    assert.equal(a.end(), '\uFFFD');
    assert.equal(b.end(), '');
    assert.equal(streamed(cut).join(''), tok.decode(cut));
    assert.throws(() => tok.streamDecoder().push(258), /token id 258 at position 0/);
  });
});

describe('when serialising the tokenizer', () => {
  it('should describe a byte-level vocabulary of 258 with its special ids', () => {
    const json = tok.toJSON();
    assert.deepEqual(json, {
      type: 'byte-level',
      vocabSize: 258,
      padId: 256,
      eosId: 257,
      specialTokens: { '<pad>': 256, '<eos>': 257 },
    });
    const restored = ByteTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
    assert.equal(restored.decode(restored.encode('é')), 'é');
  });

  it('should refuse a tokenizer.json of another layout', () => {
    assert.throws(() => ByteTokenizer.fromJSON({ ...tok.toJSON(), vocabSize: 50257 }), /field "vocabSize" is 50257, expected 258/);
    assert.throws(() => ByteTokenizer.fromJSON(null), /must be an object/);
  });
});
