import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ByteTokenizer } from '../tokenizer/byte-tokenizer';
import { classificationBatches } from './classification-batches';
import type { ClassificationBatch } from './token-batch';

const tok = new ByteTokenizer();
const rows = [
  { text: 'free money', label: 'spam' },
  { text: 'hi', label: 'ham' },
  { text: 'a very long message that will be cut', label: 'ham' },
  { text: 'é🐋', label: 'spam' },
  { text: 'lunch?', label: 'ham' },
];
const labels = ['ham', 'spam'];

function rowOf(b: ClassificationBatch, r: number): { ids: number[]; mask: number[] } {
  const s = r * b.seqLen;
  return { ids: [...b.ids.subarray(s, s + b.seqLen)], mask: [...b.mask.subarray(s, s + b.seqLen)] };
}

describe('when batching classification rows in input order', () => {
  const batches = [...classificationBatches(rows, tok, { batchSize: 2, maxLength: 8, labels })];

  it('should yield ceil(n / batchSize) batches with a short last one', () => {
    assert.equal(batches.length, 3);
    assert.deepEqual(
      batches.map((b) => b.batch),
      [2, 2, 1],
    );
    assert.equal(classificationBatches(rows, tok, { batchSize: 2, maxLength: 8, labels }).numBatches, 3);
  });

  it('should right-pad with padId to the longest row and mask the padding', () => {
    const b = batches[0] as ClassificationBatch;
    assert.equal(b.seqLen, 8); // "free money" is cut to 8 bytes
    assert.equal(b.ids.length, 16);
    assert.deepEqual(rowOf(b, 0).ids, tok.encode('free mon'));
    assert.deepEqual(rowOf(b, 0).mask, [1, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(rowOf(b, 1).ids, [...tok.encode('hi'), 256, 256, 256, 256, 256, 256]);
    assert.deepEqual(rowOf(b, 1).mask, [1, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('should keep the beginning of long texts and count bytes, not characters', () => {
    const b = batches[1] as ClassificationBatch;
    assert.equal(tok.decode(rowOf(b, 0).ids), 'a very l');
    // 'é🐋' is 2 + 4 = 6 bytes
    assert.deepEqual(rowOf(b, 1).mask, [1, 1, 1, 1, 1, 1, 0, 0]);
    assert.equal(tok.decode(rowOf(b, 1).ids), 'é🐋');
  });

  it('should give each row the index of its label and of its input row', () => {
    assert.deepEqual(
      batches.flatMap((b) => [...b.labels]),
      [1, 0, 0, 1, 0],
    );
    assert.deepEqual(
      batches.flatMap((b) => [...b.indices]),
      [0, 1, 2, 3, 4],
    );
  });

  it('should pad every batch to maxLength when asked for one shape', () => {
    const fixed = [...classificationBatches(rows, tok, { batchSize: 2, maxLength: 12, labels, padTo: 'maxLength' })];
    assert.ok(fixed.every((b) => b.seqLen === 12 && b.ids.length === b.batch * 12));
    assert.deepEqual(rowOf(fixed[2] as ClassificationBatch, 0).mask, [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('should cut a surrogate pair at the byte limit like the full encoding would', () => {
    const [b] = [...classificationBatches([{ text: 'ab🐋cd', label: 'ham' }], tok, { batchSize: 1, maxLength: 4, labels })];
    assert.deepEqual([...(b as ClassificationBatch).ids], tok.encode('ab🐋cd').slice(0, 4));
  });
});

describe('when shuffling classification rows', () => {
  const many = Array.from({ length: 50 }, (_, i) => ({ text: `row ${i}`, label: i % 3 === 0 ? 'spam' : 'ham' }));
  const order = (seed: number, epoch = 0, dropLast = false) =>
    [...classificationBatches(many, tok, { batchSize: 8, maxLength: 16, labels, shuffleSeed: seed, epoch, dropLast })].flatMap((b) => [
      ...b.indices,
    ]);

  it('should visit every row once in a seed-determined order', () => {
    const a = order(3);
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.notDeepEqual(
      a,
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(order(3), a);
    assert.notDeepEqual(order(4), a);
  });

  it('should give a new order each epoch, reproducibly', () => {
    assert.notDeepEqual(order(3, 1), order(3, 0));
    assert.deepEqual(order(3, 1), order(3, 1));
  });

  it('should yield the same batches when iterated twice', () => {
    const it1 = classificationBatches(many, tok, { batchSize: 8, maxLength: 16, labels, shuffleSeed: 9 });
    assert.deepEqual([...it1], [...it1]);
  });

  it('should keep labels aligned with their texts after shuffling', () => {
    for (const b of classificationBatches(many, tok, { batchSize: 8, maxLength: 16, labels, shuffleSeed: 5 })) {
      for (let r = 0; r < b.batch; r++) {
        const row = many[b.indices[r] as number] as { text: string; label: string };
        assert.equal(tok.decode(rowOf(b, r).ids), row.text);
        assert.equal(labels[b.labels[r] as number], row.label);
      }
    }
  });

  it('should drop the incomplete last batch when asked', () => {
    assert.equal(order(3, 0, true).length, 48);
  });
});

describe('when classification inputs are wrong', () => {
  it('should say which row has an unknown label', () => {
    assert.throws(
      () =>
        classificationBatches(
          [
            { text: 'x', label: 'ham' },
            { text: 'y', label: 'eggs' },
          ],
          tok,
          { batchSize: 1, maxLength: 4, labels },
        ),
      /row 1 has label "eggs", which is not in labels \["ham","spam"\]/,
    );
  });

  it('should not confuse the label 1 with the label "1"', () => {
    assert.throws(
      () => classificationBatches([{ text: 'x', label: 1 }], tok, { batchSize: 1, maxLength: 4, labels: ['1'] }),
      /not in labels/,
    );
  });

  it('should reject empty texts, empty or repeated labels and bad sizes', () => {
    assert.throws(
      () => classificationBatches([{ text: '', label: 'ham' }], tok, { batchSize: 1, maxLength: 4, labels }),
      /row 0 has an empty text/,
    );
    assert.throws(() => classificationBatches(rows, tok, { batchSize: 1, maxLength: 4, labels: [] }), /labels is empty/);
    assert.throws(() => classificationBatches(rows, tok, { batchSize: 1, maxLength: 4, labels: ['ham', 'ham'] }), /appears twice/);
    assert.throws(
      () => classificationBatches(rows, tok, { batchSize: 0, maxLength: 4, labels }),
      /batchSize must be an integer >= 1, got 0/,
    );
    assert.throws(() => classificationBatches(rows, tok, { batchSize: 2, maxLength: 2.5, labels }), /maxLength must be an integer/);
    assert.throws(() => classificationBatches(rows, tok, { batchSize: 2, maxLength: 4, labels, shuffleSeed: -1 }), /shuffleSeed/);
  });
});
