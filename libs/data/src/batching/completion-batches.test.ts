import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ByteTokenizer } from '../tokenizer/byte-tokenizer';
import { completionBatches } from './completion-batches';
import type { CompletionBatch } from './token-batch';

const tok = new ByteTokenizer();
const EOS = tok.eosId;
const PAD = tok.padId;

function row(b: CompletionBatch, r: number): { ids: number[]; mask: number[]; loss: number[] } {
  const s = r * b.seqLen;
  const e = s + b.seqLen;
  return { ids: [...b.ids.subarray(s, e)], mask: [...b.mask.subarray(s, e)], loss: [...b.lossMask.subarray(s, e)] };
}

describe('when batching prompt/completion rows', () => {
  const rows = [
    { prompt: 'Q:', completion: 'ok' },
    { prompt: '', completion: 'hey' },
  ];
  const [b] = [...completionBatches(rows, tok, { batchSize: 2, maxLength: 16 })] as CompletionBatch[];

  it('should lay out prompt, completion and eos, right-padded', () => {
    assert.ok(b);
    assert.equal(b.batch, 2);
    assert.equal(b.seqLen, 5);
    assert.deepEqual(row(b, 0).ids, [...tok.encode('Q:ok'), EOS]);
    assert.deepEqual(row(b, 0).mask, [1, 1, 1, 1, 1]);
  });

  it('should count only completion tokens and the eos in the loss', () => {
    assert.ok(b);
    assert.deepEqual(row(b, 0).loss, [0, 0, 1, 1, 1]);
  });

  it('should start an empty prompt with eos so the first completion token is predicted', () => {
    assert.ok(b);
    assert.deepEqual(row(b, 1).ids, [EOS, ...tok.encode('hey'), EOS]);
    assert.deepEqual(row(b, 1).loss, [0, 1, 1, 1, 1]);
  });

  it('should never mark padding or position 0 as a target', () => {
    const [c] = [
      ...completionBatches([{ prompt: 'a', completion: 'b' }, ...rows], tok, { batchSize: 3, maxLength: 8 }),
    ] as CompletionBatch[];
    assert.ok(c);
    assert.deepEqual(row(c, 0).ids, [97, 98, EOS, PAD, PAD]);
    assert.deepEqual(row(c, 0).loss, [0, 1, 1, 0, 0]);
    for (let i = 0; i < c.lossMask.length; i++) {
      if (c.lossMask[i] === 1) assert.equal(c.mask[i], 1);
      if (i % c.seqLen === 0) assert.equal(c.lossMask[i], 0);
    }
  });
});

describe('when a completion row is longer than maxLength', () => {
  it('should keep the end of the prompt and the beginning of the completion', () => {
    const [b] = [...completionBatches([{ prompt: 'abcdef', completion: 'XY' }], tok, { batchSize: 1, maxLength: 5 })] as CompletionBatch[];
    assert.ok(b);
    assert.deepEqual(row(b, 0).ids, [...tok.encode('efXY'), EOS]);
    assert.deepEqual(row(b, 0).loss, [0, 0, 1, 1, 1]);
  });

  it('should keep one prompt token when the completion alone overflows', () => {
    const [b] = [...completionBatches([{ prompt: 'abc', completion: 'VWXYZ' }], tok, { batchSize: 1, maxLength: 4 })] as CompletionBatch[];
    assert.ok(b);
    assert.deepEqual(row(b, 0).ids, tok.encode('cVWX'));
    assert.deepEqual(row(b, 0).loss, [0, 1, 1, 1]);
  });

  it('should refuse a maxLength that cannot hold a prompt token and a target', () => {
    assert.throws(
      () => completionBatches([{ prompt: 'a', completion: 'b' }], tok, { batchSize: 1, maxLength: 1 }),
      /maxLength must be an integer >= 2/,
    );
  });
});

describe('when shuffling completion rows', () => {
  it('should be deterministic for a seed and cover every row', () => {
    const rows = Array.from({ length: 20 }, (_, i) => ({ prompt: `p${i}:`, completion: `c${i}` }));
    const run = () => [...completionBatches(rows, tok, { batchSize: 6, maxLength: 12, shuffleSeed: 11 })].flatMap((b) => [...b.indices]);
    assert.deepEqual(run(), run());
    assert.deepEqual(
      [...run()].sort((a, b) => a - b),
      rows.map((_, i) => i),
    );
    assert.notDeepEqual(
      run(),
      rows.map((_, i) => i),
    );
  });
});
