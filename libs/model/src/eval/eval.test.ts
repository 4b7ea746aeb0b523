import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@cola/gl';
import { forward } from '../forward/forward';
import { lmLoss } from '../forward/losses';
import { makeTokenBatch } from '../forward/token-batch';
import { initClassificationHead, initGptModel } from '../weights/gpt-init';
import { evaluateAccuracy, evaluatePerplexity } from './evaluate';
import { generate, generateTokens } from './generate';

const CONFIG = { vocabSize: 37, nPositions: 24, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };

describe('when a model is evaluated', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should report perplexity as exp of the token-weighted mean loss over batches', () => {
    const model = initGptModel(CONFIG, { seed: 31 });
    const b1 = makeTokenBatch([[1, 2, 3, 4, 5, 6]], { padId: 36 });
    const b2 = makeTokenBatch(
      [
        [7, 8, 9],
        [10, 11],
      ],
      { padId: 36 },
    );
    const loss = (b: typeof b1): number => tf.tidy(() => lmLoss(forward(model, b, { head: 'lm' }), b).dataSync()[0]);
    const res = evaluatePerplexity(model, [b1, b2]);
    assert.equal(res.tokens, 5 + 3);
    const expected = (loss(b1) * 5 + loss(b2) * 3) / 8;
    assert.ok(Math.abs(res.nll - expected) < 1e-5, `${res.nll} vs ${expected}`);
    assert.ok(Math.abs(res.perplexity - Math.exp(expected)) < 1e-4);
    model.dispose();
  });

  it('should count a row as correct exactly when its arg-max class is the label', () => {
    const model = initGptModel(CONFIG, { seed: 32 });
    initClassificationHead(model, 3, { seed: 5 });
    const batch = makeTokenBatch([[1, 2], [3, 4, 5], [6], [7, 8, 9, 10]], { padId: 36 });
    const pred = Array.from(tf.tidy(() => tf.argMax(forward(model, batch, { head: 'cls' }), -1)).dataSync());
    const labels = Int32Array.from(pred.map((p, i) => (i < 3 ? p : (p + 1) % 3)));
    const res = evaluateAccuracy(model, [{ ...batch, labels }]);
    assert.equal(res.count, 4);
    assert.equal(res.accuracy, 0.75);
    assert.ok(res.loss > 0);
    model.dispose();
  });
});

describe('when a model generates text', () => {
  it('should continue greedily and deterministically, sample reproducibly by seed, and stop at stopId', () => {
    const model = initGptModel(CONFIG, { seed: 33 });
    const start = tf.memory().numTensors;
    const greedy = generate(model, [1, 2, 3], { maxNewTokens: 30 });
    assert.equal(greedy.length, 30, 'a context longer than nPositions must be cut, not rejected');
    assert.deepEqual(generate(model, [1, 2, 3], { maxNewTokens: 30 }), greedy);
    const first = tf.tidy(
      () =>
        tf
          .argMax(
            tf.reshape(tf.slice(forward(model, makeTokenBatch([[1, 2, 3]], { padId: 36 }), { head: 'lm' }), [0, 2, 0], [1, 1, 37]), [37]),
          )
          .dataSync()[0],
    );
    assert.equal(greedy[0], first);
    const s1 = generate(model, [1, 2, 3], { maxNewTokens: 20, temperature: 1.5, seed: 7 });
    assert.deepEqual(generate(model, [1, 2, 3], { maxNewTokens: 20, temperature: 1.5, seed: 7 }), s1);
    assert.notDeepEqual(generate(model, [1, 2, 3], { maxNewTokens: 20, temperature: 1.5, seed: 8 }), s1);
    const stopped = generate(model, [1, 2, 3], { maxNewTokens: 30, stopId: greedy[2] });
    assert.equal(stopped.length, greedy.indexOf(greedy[2]) + 1);
    assert.equal(tf.memory().numTensors, start);
    assert.throws(() => generate(model, [], { maxNewTokens: 1 }), /the prompt is empty/);
    model.dispose();
  });

  it('should yield the same tokens one at a time, check its options before the first, and stop when told', () => {
    const model = initGptModel(CONFIG, { seed: 33 });
    const start = tf.memory().numTensors;
    const opts = { maxNewTokens: 12, temperature: 1.5, seed: 7 };
    const steps = generateTokens(model, [1, 2, 3], opts);
    const first = steps.next();
    assert.equal(first.done, false);
    assert.deepEqual([first.value, ...steps], generate(model, [1, 2, 3], opts));
    // Stopping early runs no further forward pass and leaves no tensor behind.
    const early = generateTokens(model, [1, 2, 3], opts);
    early.next();
    early.return();
    assert.equal(early.next().done, true);
    assert.equal(tf.memory().numTensors, start);
    assert.throws(() => generateTokens(model, [1], { maxNewTokens: -1 }), /maxNewTokens must be an integer >= 0/);
    model.dispose();
  });
});
