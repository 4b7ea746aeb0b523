import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@cola/gl';
import { initGptModel, type GptModel } from '@cola/model';
import { loadSpamAssassin, SPAM_ASSASSIN_LABELS } from '@cola/data';
import { finetune, type FinetuneResult } from './finetune';
import { classificationTask, type TaskData } from './task-data';

/** ||a - b|| / ||b|| over all parameters of two runs. */
async function relativeError(a: FinetuneResult, b: FinetuneResult): Promise<number> {
  const va = await a.adapters.values();
  const vb = await b.adapters.values();
  assert.deepEqual([...va.keys()], [...vb.keys()]);
  let diff = 0;
  let norm = 0;
  for (const [k, x] of va) {
    const y = vb.get(k)!;
    for (let i = 0; i < x.length; i++) {
      diff += (x[i]! - y[i]!) ** 2;
      norm += y[i]! ** 2;
    }
  }
  return Math.sqrt(diff) / Math.sqrt(norm);
}

function tinyModel(): GptModel {
  return initGptModel(
    { vocabSize: 258, nPositions: 32, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5, numLabels: 2 },
    { seed: 3 },
  );
}

const common = {
  aux: { type: 'lowrank', rank: 4, scale: 1 },
  optimizer: { type: 'adamw', lr: 5e-3, weightDecay: 5e-4 },
  batchSize: 8,
  maxLength: 32,
  maxSteps: 20,
  seed: 11,
} as const;
const hooks = { quiet: true, skipEvaluation: true };
let data: TaskData;

describe('when ColA (lowrank, I = 1, AdamW) and LoRA train the same adapters on the same data', () => {
  before(async () => {
    await initBackend({ log: null });
    const splits = loadSpamAssassin();
    data = classificationTask('spam-tiny', splits.train.slice(0, 160), splits.test.slice(0, 16), SPAM_ASSASSIN_LABELS);
  });

  it('should end with parameters equal within 1e-4 relative after 20 steps', async () => {
    const model = tinyModel();
    const lora = await finetune(model, data, { ...common, method: 'lora' }, hooks);
    const cola = await finetune(model, data, { ...common, method: 'cola', interval: 1 }, hooks);
    assert.equal(cola.steps, 20);
    const err = await relativeError(cola, lora);
    assert.ok(err <= 1e-4, `relative error ${err}`);
    console.log(`ColA vs LoRA after 20 steps: relative parameter error ${err.toExponential(2)}`);
    // The adapters really moved: equality of two untrained runs would prove nothing.
    const moved = [...(await cola.adapters.values()).values()].some((v) => v.some((x) => Math.abs(x) > 1e-3));
    assert.ok(moved);
    for (let i = 0; i < 20; i++) assert.ok(Math.abs(cola.losses[i]! - lora.losses[i]!) <= 1e-4 * Math.abs(lora.losses[i]!), `loss ${i}`);
    cola.adapters.dispose();
    lora.adapters.dispose();
    model.dispose();
  });

  it('should give the same losses merged and unmerged', async () => {
    const model = tinyModel();
    const unmerged = await finetune(model, data, { ...common, method: 'cola', merged: false }, hooks);
    const merged = await finetune(model, data, { ...common, method: 'cola', merged: true }, hooks);
    for (let i = 0; i < 20; i++)
      assert.ok(
        Math.abs(merged.losses[i]! - unmerged.losses[i]!) <= 1e-4 * Math.abs(unmerged.losses[i]!),
        `step ${i}: ${merged.losses[i]} vs ${unmerged.losses[i]}`,
      );
    assert.ok((await relativeError(merged, unmerged)) <= 1e-4);
    assert.notEqual(unmerged.losses[0], unmerged.losses[19], 'training changed the loss');
    merged.adapters.dispose();
    unmerged.adapters.dispose();
    model.dispose();
  });

  it('should leave tf.memory().numTensors unchanged after 10 training steps', async () => {
    const model = tinyModel();
    // One warm-up run creates the classifier head; the measured runs then start from a fixed set.
    (await finetune(model, data, { ...common, method: 'cola', maxSteps: 1 }, hooks)).adapters.dispose();
    for (const method of ['cola', 'lora'] as const) {
      const start = tf.memory().numTensors;
      const run = await finetune(model, data, { ...common, method, maxSteps: 10 }, { quiet: true });
      run.adapters.dispose();
      assert.equal(tf.memory().numTensors, start, `${method} leaked tensors`);
    }
    model.dispose();
  });
});

describe('when the host peak bytes are measured', () => {
  it('should leave no tensor behind for either method', async () => {
    await initBackend({ log: null });
    const splits = loadSpamAssassin();
    const small = classificationTask('spam-tiny', splits.train.slice(0, 48), splits.test.slice(0, 8), SPAM_ASSASSIN_LABELS);
    const model = tinyModel();
    (await finetune(model, small, { ...common, method: 'cola', maxSteps: 1 }, hooks)).adapters.dispose();
    for (const method of ['cola', 'lora', 'head'] as const) {
      const start = tf.memory().numTensors;
      const run = await finetune(model, small, { ...common, method, maxSteps: 3 }, { ...hooks, measurePeakBytes: true });
      assert.ok((run.peakHostBytes ?? 0) > 0, `${method} measured a peak`);
      run.adapters.dispose();
      assert.equal(tf.memory().numTensors, start, `${method} leaked tensors`);
    }
    model.dispose();
  });
});
