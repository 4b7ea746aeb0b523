import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdapterSet, initBackend, tf } from '@cola/gl';
import { initClassificationHead, initGptModel, type GptModel } from '@cola/model';
import { loadSpamAssassin } from '@cola/data';
import { classificationTask, evaluate } from '@cola/train';
import { evaluateInChunks } from './chunked-evaluation';

const CONFIG = { vocabSize: 258, nPositions: 32, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };

describe('evaluateInChunks', () => {
  let model: GptModel;
  let adapters: AdapterSet;
  before(async () => {
    await initBackend({ log: null });
    model = initGptModel(CONFIG, { seed: 5 });
    initClassificationHead(model, 2, { seed: 5 });
    adapters = AdapterSet.create({
      layers: [{ tap: 'h.0.attn.c_attn', dIn: 16, dOut: 48, aux: { type: 'lowrank', rank: 2 } }],
      optimizer: { type: 'adamw', lr: 1e-3 },
      seed: 1,
    });
  });

  it('should score windowed inputs in pieces of a few rows exactly as one pass, preparing the model before each piece and yielding between them', async () => {
    const spam = loadSpamAssassin();
    const rows = spam.test.slice(0, 12).map((e) => ({ text: e.text, label: e.label }));
    // Four windows of 32 bytes per e-mail: every batch of 4 e-mails holds up to 16 rows.
    const task = classificationTask('spam', rows, rows, ['ham', 'spam'], { maxWindows: 4 });
    const batches = (): ReturnType<typeof task.evaluation> => task.evaluation({ batchSize: 4, maxLength: 32 });
    const whole = evaluate(model, batches(), { adapters, merged: false });
    let prepared = 0;
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    const before = tf.memory().numTensors;
    const pieces = await evaluateInChunks(model, batches(), { adapters, merged: false, rowsPerYield: 3, prepare: () => prepared++ });
    clearInterval(ticker);
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    assert.equal(pieces.metric, 'accuracy');
    assert.equal(pieces.count, whole.count);
    assert.equal(pieces.value, whole.value);
    // Windows of one input stay together, so a piece may exceed 3 rows only by an input's windows.
    assert.ok(prepared >= 12 / 2, `prepared before each of ${prepared} pieces`);
    assert.ok(ticks > 0, 'timers ran between the pieces');
  });
});
