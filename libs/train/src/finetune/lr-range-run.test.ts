import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@cola/gl';
import { initGptModel } from '@cola/model';
import { runLrRangeTest } from './lr-range-run';
import { classificationTask } from './task-data';

const CONFIG = { vocabSize: 258, nPositions: 32, nEmbd: 16, nLayer: 1, nHead: 2, layerNormEpsilon: 1e-5 };
// A task a tiny random model can learn within a few steps: the label is the passage's letter.
const rows = Array.from({ length: 16 }, (_, i) => ({ text: (i % 2 ? 'x' : 'o').repeat(8 + (i % 5)), label: i % 2 ? 'x' : 'o' }));

describe('when a learning-rate range test runs in-process', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  for (const method of ['cola', 'lora'] as const) {
    it(`should run one ${method} step per rate, leave the model's weights and no tensor behind, and read a rate`, async () => {
      const model = initGptModel(CONFIG, { seed: 1 });
      const data = classificationTask('letters', rows, rows, ['o', 'x']);
      const r0 = await runLrRangeTest(model, data, { method, batchSize: 4, maxLength: 16 }, { steps: 3 }); // installs the head
      assert.equal(r0.losses.length, 3);
      const before = model.variables().map((v) => v.dataSync().slice());
      const tensors = tf.memory().numTensors;
      const r = await runLrRangeTest(model, data, { method, batchSize: 4, maxLength: 16 }, { minLr: 1e-3, maxLr: 1, steps: 10 });
      assert.equal(r.losses.length, 10, 'ten rates over more than one epoch of 4 batches');
      assert.ok(r.losses.slice(0, 3).every(Number.isFinite));
      assert.ok(Math.abs(r.lrs[0]! - 1e-3) < 1e-12 && Math.abs(r.lrs[9]! - 1) < 1e-9);
      model.variables().forEach((v, i) => assert.deepEqual(v.dataSync(), before[i], `${v.name} changed`));
      assert.equal(tf.memory().numTensors, tensors, 'the test adapters are disposed');
      if (r.lr !== undefined) assert.ok(r.lr >= 1e-4 && r.lr <= 0.1, `picked ${r.lr}: ${r.why}`);
      assert.ok(r.why.length > 0);
      model.dispose();
    });
  }
});
