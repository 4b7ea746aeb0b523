import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ByteTokenizer, classificationBatches, splitWindows, windowCoverage, windowedClassificationBatches } from '@cola/data';
import { initBackend, tf } from '@cola/gl';
import { initClassificationHead, initGptModel } from '@cola/model';
import { evaluate } from './evaluate';
import { finetune } from './finetune';
import { classificationTask } from './task-data';
import { classLogits, taskLoss } from './task-loss';

const CONFIG = { vocabSize: 258, nPositions: 32, nEmbd: 16, nLayer: 1, nHead: 2, layerNormEpsilon: 1e-5 };
const tok = new ByteTokenizer();
const LABELS = ['a', 'b'];
const short = [
  { text: 'short one', label: 'a' },
  { text: 'another', label: 'b' },
  { text: 'tiny', label: 'a' },
];

describe('when classification inputs are split into windows', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should cover the whole input with consecutive windows, up to the cap, and count what the cap drops', () => {
    const ids = Array.from({ length: 70 }, (_, i) => i);
    assert.deepEqual(
      splitWindows(ids, 32, 8).map((w) => w.length),
      [32, 32, 6],
    );
    assert.deepEqual(splitWindows(ids, 32, 8).flat(), ids);
    assert.deepEqual(
      splitWindows(ids, 32, 2).map((w) => w.length),
      [32, 32],
    );
    const c = windowCoverage(['x'.repeat(70), 'y'.repeat(10)], tok, 32, 2);
    assert.deepEqual(c, { tokens: 80, dropped: 6, droppedShare: 6 / 80 });
  });

  it('should give the same batches, logits and loss as one pass when every input fits', () => {
    const model = initGptModel(CONFIG, { seed: 3 });
    initClassificationHead(model, 2, { seed: 4 });
    const start = tf.memory().numTensors;
    const opts = { batchSize: 3, maxLength: 32, labels: LABELS, padTo: 'maxLength' as const };
    const [plain] = [...classificationBatches(short, tok, opts)];
    const [windowed] = [...windowedClassificationBatches(short, tok, { ...opts, maxWindows: 4 })];
    assert.deepEqual(windowed!.ids, plain!.ids);
    assert.deepEqual(windowed!.labels, plain!.labels);
    assert.deepEqual(windowed!.windowOf, Int32Array.from([0, 1, 2]));
    const a = tf.tidy(() => Array.from(classLogits(model, plain!, {}).dataSync()));
    const b = tf.tidy(() => Array.from(classLogits(model, windowed!, {}).dataSync()));
    assert.deepEqual(b, a);
    const la = tf.tidy(() => taskLoss(model, plain!, {}).dataSync()[0]);
    const lb = tf.tidy(() => taskLoss(model, windowed!, {}).dataSync()[0]);
    assert.equal(lb, la);
    assert.equal(tf.memory().numTensors, start);
    model.dispose();
  });

  it('should pool a long input as the mean of its windows, in evaluation and in training', async () => {
    const model = initGptModel(CONFIG, { seed: 5 });
    initClassificationHead(model, 2, { seed: 6 });
    const long = [{ text: 'The whale. '.repeat(8), label: 'b' }];
    const [w] = [...windowedClassificationBatches(long, tok, { batchSize: 1, maxLength: 32, labels: LABELS, maxWindows: 8 })];
    assert.equal(w!.batch, 3, '88 bytes -> windows of 32, 32 and 24');
    const pooled = tf.tidy(() => Array.from(classLogits(model, w!, {}).dataSync()));
    const each = tf.tidy(() => Array.from(classLogits(model, { ...w!, windowOf: undefined, labels: undefined }, {}).dataSync()));
    for (let c = 0; c < 2; c++) assert.ok(Math.abs(pooled[c]! - (each[c]! + each[2 + c]! + each[4 + c]!) / 3) < 1e-5);
    const data = classificationTask('long', [...long, ...short], [...long, ...short], LABELS, { maxWindows: 8 });
    assert.equal(evaluate(model, data.evaluation({ batchSize: 2, maxLength: 32 })).count, 4, 'accuracy counts inputs, not windows');
    const r = await finetune(model, data, { method: 'cola', epochs: 2, maxSteps: 3, batchSize: 2, maxLength: 32 }, { quiet: true });
    assert.equal(r.steps, 3);
    assert.ok(r.losses.every(Number.isFinite));
    r.adapters.dispose();
    model.dispose();
  });
});

describe('when a run is bounded by max steps', () => {
  it('should stop after exactly that many batches, whatever the epochs', async () => {
    const model = initGptModel(CONFIG, { seed: 7 });
    const data = classificationTask('bounded', [...short, ...short, ...short], short, LABELS);
    const r = await finetune(model, data, { method: 'cola', epochs: 5, maxSteps: 4, batchSize: 2, maxLength: 16 }, { quiet: true });
    assert.equal(r.steps, 4);
    assert.equal(r.losses.length, 4);
    r.adapters.dispose();
    model.dispose();
  });
});
