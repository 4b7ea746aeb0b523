import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ByteTokenizer } from '../tokenizer/byte-tokenizer';
import { lmBatches } from './lm-batches';

const tok = new ByteTokenizer();
const EOS = tok.eosId;

describe('when packing documents for causal LM', () => {
  const texts = ['abc', 'de', 'fghij'];
  // stream: a b c EOS d e EOS f g h i j EOS = 13 tokens -> windows of 4: 4 + 4 + 4 + 1
  const batches = [...lmBatches(texts, tok, { batchSize: 3, seqLen: 4 })];

  it('should cut the eos-separated stream into consecutive windows', () => {
    assert.equal(batches.length, 2);
    assert.deepEqual(
      batches.map((b) => [b.batch, b.seqLen]),
      [
        [3, 4],
        [1, 4],
      ],
    );
    const stream = [...tok.encode('abc'), EOS, ...tok.encode('de'), EOS, ...tok.encode('fghij'), EOS];
    const first = batches[0];
    assert.ok(first);
    assert.deepEqual([...first.ids], stream.slice(0, 12));
    assert.ok(first.mask.every((m) => m === 1));
  });

  it('should pad and mask the final partial window instead of dropping text', () => {
    const last = batches[1];
    assert.ok(last);
    assert.deepEqual([...last.ids], [EOS, tok.padId, tok.padId, tok.padId]);
    assert.deepEqual([...last.mask], [1, 0, 0, 0]);
    const realTokens = batches.reduce((n, b) => n + b.mask.reduce((s, m) => s + m, 0), 0);
    assert.equal(realTokens, 13);
  });

  it('should round-trip the text through the windows', () => {
    const ids = batches.flatMap((b) => [...b.ids]);
    assert.equal(tok.decode(ids), 'abcdefghij');
  });
});

describe('when shuffling LM windows', () => {
  const book = Array.from({ length: 30 }, (_, i) => `Chapter ${i}. Call me Ishmael, ${'sea '.repeat(i % 5)}`);
  const windows = (opts: { shuffleSeed?: number; epoch?: number; dropLast?: boolean }) =>
    [...lmBatches(book, tok, { batchSize: 5, seqLen: 16, ...opts })].flatMap((b) =>
      Array.from({ length: b.batch }, (_, r) => tok.decode(b.ids.subarray(r * 16, (r + 1) * 16))),
    );

  it('should permute the same windows deterministically for a seed', () => {
    const plain = windows({});
    const shuffled = windows({ shuffleSeed: 1 });
    assert.notDeepEqual(shuffled, plain);
    assert.deepEqual([...shuffled].sort(), [...plain].sort());
    assert.deepEqual(windows({ shuffleSeed: 1 }), shuffled);
    assert.notDeepEqual(windows({ shuffleSeed: 1, epoch: 1 }), shuffled);
  });

  it('should only yield full batches with dropLast', () => {
    const it = lmBatches(book, tok, { batchSize: 5, seqLen: 16, dropLast: true });
    const all = [...it];
    assert.equal(all.length, it.numBatches);
    assert.ok(all.every((b) => b.batch === 5 && b.ids.length === 80));
  });

  it('should reject an empty corpus and a one-token window', () => {
    assert.throws(() => lmBatches([], tok, { batchSize: 1, seqLen: 8 }), /texts is empty/);
    assert.throws(() => lmBatches(['x'], tok, { batchSize: 1, seqLen: 1 }), /seqLen must be an integer >= 2/);
  });
});
