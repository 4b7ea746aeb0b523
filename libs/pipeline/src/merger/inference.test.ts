import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ByteTokenizer } from '@cola/data';
import { initBackend, tf } from '@cola/gl';
import { forward, initClassificationHead, initGptModel, makeTokenBatch, type GptModel } from '@cola/model';
import { classificationBatch, classifyTexts, DEFAULT_INFERENCE_LIMITS } from './inference';
import type { LoadedModel } from './served-models';

const CONFIG = { vocabSize: 258, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2, layerNormEpsilon: 1e-5 };
const tok = new ByteTokenizer();

function loaded(model: GptModel, maxWindows: number): LoadedModel {
  return {
    name: 'ft:test:t:j',
    jobId: 'j',
    version: 1,
    task: 'classification',
    labels: ['a', 'b'],
    maxLength: 16,
    maxWindows,
    merged: true,
    mergeGroup: '',
    updatedAtMs: 0,
    model,
    deltas: undefined,
    inject: undefined,
  };
}

/** Class probabilities of a text computed window by window: softmax of the mean of each window's own logits. */
function pooledByHand(model: GptModel, text: string, maxLength: number): number[] {
  const ids = tok.encode(text);
  const windows: number[][] = [];
  for (let at = 0; at < ids.length; at += maxLength) windows.push(ids.slice(at, at + maxLength));
  return tf.tidy(() => {
    const logits = windows.map((w) => forward(model, makeTokenBatch([w], { padId: tok.padId }), { head: 'cls' }));
    return Array.from(tf.softmax(tf.mean(tf.concat(logits, 0), 0, true)).dataSync());
  });
}

describe('when the merger classifies texts longer than the context', () => {
  let model: GptModel;
  before(async () => {
    await initBackend({ log: null });
    model = initGptModel(CONFIG, { seed: 3 });
    initClassificationHead(model, 2, { seed: 4 });
  });

  it('should give exactly the one-window answer when every text fits', () => {
    const texts = ['short', 'a sixteen-byte x', 'tiny'];
    assert.deepEqual(classifyTexts(loaded(model, 4), texts), classifyTexts(loaded(model, 1), texts));
  });

  it("should pool the class logits of a long text's windows, as training does", () => {
    const long = 'The whole of this text is read, not only its first sixteen bytes.';
    const batch = classificationBatch([long, 'fits'], 16, 8);
    assert.deepEqual(Array.from(batch.windowOf), [0, 0, 0, 0, 0, 1], '65 bytes in 5 windows of 16, then the short text');
    const [r] = classifyTexts(loaded(model, 8), [long]);
    const want = pooledByHand(model, long, 16);
    r!.scores.forEach((s, j) => assert.ok(Math.abs(s.score - want[j]!) < 1e-5, `label ${s.label}: ${s.score} vs ${want[j]}`));
    const cut = classifyTexts(loaded(model, 1), [long])[0]!;
    assert.notDeepEqual(
      r!.scores.map((s) => s.score),
      cut.scores.map((s) => s.score),
      'the first window alone answers differently',
    );
  });

  it('should cut a text after max_windows windows and keep every text whole across forward passes', () => {
    const long = 'x'.repeat(40) + 'y'.repeat(40);
    const two = classifyTexts(loaded(model, 2), [long])[0]!;
    const want = pooledByHand(model, long.slice(0, 32), 16);
    two.scores.forEach((s, j) => assert.ok(Math.abs(s.score - want[j]!) < 1e-5));
    const texts = [long, 'short', long, 'mid-length text here'];
    const all = classifyTexts(loaded(model, 8), texts);
    const small = classifyTexts(loaded(model, 8), texts, { ...DEFAULT_INFERENCE_LIMITS, batchSize: 3 });
    all.forEach((a, i) => a.scores.forEach((s, j) => assert.ok(Math.abs(s.score - small[i]!.scores[j]!.score) < 1e-5)));
  });
});
