import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ByteTokenizer,
  classificationBatches,
  completionBatches,
  lmBatches,
  loadMobyDick,
  loadSpamAssassin,
  parseJsonl,
  SPAM_ASSASSIN_LABELS,
  toJsonl,
} from './index';

const tok = new ByteTokenizer();

describe('when feeding the SpamAssassin training split to classification batches', () => {
  it('should cover every e-mail with in-vocabulary ids and both classes', () => {
    const { train } = loadSpamAssassin();
    const batches = classificationBatches(train, tok, { batchSize: 32, maxLength: 128, labels: SPAM_ASSASSIN_LABELS, shuffleSeed: 1 });
    let rows = 0;
    const classes = new Set<number>();
    for (const b of batches) {
      rows += b.batch;
      assert.ok(b.seqLen <= 128);
      assert.ok(b.ids.every((id) => id >= 0 && id < tok.vocabSize));
      for (let r = 0; r < b.batch; r++) assert.equal(b.mask[r * b.seqLen], 1, 'every row has a first real token');
      b.labels.forEach((l) => classes.add(l));
    }
    assert.equal(rows, train.length);
    assert.equal(batches.numBatches, Math.ceil(train.length / 32));
    assert.deepEqual([...classes].sort(), [0, 1]);
  });
});

describe('when packing Moby Dick for language modelling', () => {
  it('should yield full windows whose real tokens equal the book plus one eos per chapter', () => {
    const book = loadMobyDick().map((c) => c.text);
    const bytes = book.reduce((n, t) => n + Buffer.byteLength(t), 0);
    let real = 0;
    for (const b of lmBatches(book, tok, { batchSize: 16, seqLen: 128 })) real += b.mask.reduce((s, m) => s + m, 0);
    assert.equal(real, bytes + book.length);
  });
});

describe('when a tenant file goes from JSONL to batches', () => {
  it('should batch parsed completion rows with the right targets', () => {
    const ds = parseJsonl(toJsonl([{ prompt: 'Q: 2+2? A:', completion: ' 4' }]));
    assert.ok(ds.kind === 'completion');
    const [b] = [...completionBatches(ds.rows, tok, { batchSize: 4, maxLength: 64 })];
    assert.ok(b);
    const targets = [...b.ids].filter((_, i) => b.lossMask[i] === 1);
    assert.deepEqual(targets, [...tok.encode(' 4'), tok.eosId]);
  });
});
