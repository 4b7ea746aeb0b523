import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadSpamAssassin, SPAM_ASSASSIN_LABELS } from '@cola/data';
import { classificationTask, languageModelTask, type TaskBatch, type TaskData } from '@cola/train';
import { BatchCursor } from './batch-cursor';

const OPTS = { batchSize: 4, maxLength: 16, seed: 3 };

/** finetune's own loop: epochs in order, each shuffled by (seed, epoch), cut at `total`. */
function reference(data: TaskData, epochs: number, total: number): TaskBatch[] {
  const out: TaskBatch[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) for (const b of data.train({ ...OPTS, epoch })) if (out.length < total) out.push(b);
  return out;
}

function drain(c: BatchCursor): TaskBatch[] {
  const out: TaskBatch[] = [];
  for (let b = c.next(); b; b = c.next()) out.push(b);
  return out;
}

describe('when a job walks its training batches with a cursor', () => {
  const cls = classificationTask('c', loadSpamAssassin().train.slice(0, 18), [], SPAM_ASSASSIN_LABELS);
  const lm = languageModelTask('l', ['the whale, the whale', 'call me Ishmael. Some years ago', 'never mind how long precisely'], []);

  for (const [name, data] of [
    ['classification', cls],
    ['causal LM', lm],
  ] as const) {
    it(`should give finetune's batches in finetune's order over epochs (${name})`, () => {
      const perEpoch = data.train({ ...OPTS, epoch: 0 }).numBatches;
      const total = perEpoch * 3 - 1;
      const want = reference(data, 3, total);
      const cursor = new BatchCursor(data, { ...OPTS, total, start: 0 });
      assert.equal(cursor.perEpoch, perEpoch);
      const got = drain(cursor);
      assert.equal(got.length, total);
      assert.deepEqual(got, want);
      assert.ok(cursor.done);
      assert.equal(cursor.epoch, 2);
      // Epochs really differ (shuffled by epoch), so the equality above means something.
      assert.notDeepEqual(want[0]!.ids, want[perEpoch]!.ids);
    });

    it(`should resume at any position with the batch an uninterrupted run has there (${name})`, () => {
      const perEpoch = data.train({ ...OPTS, epoch: 0 }).numBatches;
      const total = perEpoch * 2;
      const want = reference(data, 2, total);
      for (const start of [1, perEpoch, perEpoch + 1, total]) {
        const cursor = new BatchCursor(data, { ...OPTS, total, start });
        assert.equal(cursor.position, start);
        assert.deepEqual(drain(cursor), want.slice(start), `resumed at ${start}`);
      }
      assert.throws(() => new BatchCursor(data, { ...OPTS, total, start: total + 1 }), /start must be an integer in \[0, \d+\]/);
    });
  }
});
