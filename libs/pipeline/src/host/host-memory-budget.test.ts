import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@cola/gl';
import { initGptModel, resolveTaps } from '@cola/model';
import { HostMemoryBudget } from './host-memory-budget';

const CONFIG = { vocabSize: 258, nPositions: 32, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };

describe('when the gpu-host sizes its work by its memory budget', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should measure the bytes of one row once, and give fewer rows per chunk under a smaller budget', async () => {
    const model = initGptModel(CONFIG, { seed: 1 });
    const taps = resolveTaps(model.config, ['c_attn']);
    const start = tf.memory().numTensors;
    const big = new HostMemoryBudget(model, 1024);
    const small = new HostMemoryBudget(model, 64);
    const perRow = await big.bytesPerRow('lm', 32, taps);
    assert.ok(perRow > 32 * 16 * 4, `a row of 32 tokens takes more than its hidden states (${perRow} bytes)`);
    assert.equal(await big.bytesPerRow('lm', 32, taps), perRow, 'cached per head, length and taps');
    const [rowsBig, rowsSmall] = [await big.rowsPerChunk('lm', 32, taps), await small.rowsPerChunk('lm', 32, taps)];
    assert.ok(rowsSmall >= 1 && rowsSmall < rowsBig, `rows per chunk ${rowsSmall} (64 MiB) vs ${rowsBig} (1 GiB)`);
    assert.equal(tf.memory().numTensors, start, 'the measurement leaves no tensor behind');
    model.dispose();
  });

  it('should refuse a job that does not fit beside the live tensors, saying why', () => {
    const model = initGptModel(CONFIG, { seed: 1 });
    const budget = new HostMemoryBudget(model, 64);
    assert.deepEqual(budget.admits(1024, 1024), { ok: true });
    const no = budget.admits(200 * 2 ** 20, 1024);
    assert.equal(no.ok, false);
    assert.match(no.ok ? '' : no.reason, /waiting for gpu-host memory: the job needs 200 MiB .* of the 64 MiB budget is in use/);
    assert.throws(() => new HostMemoryBudget(model, 4096), /memory budget must be an integer from 64 to 3072 MiB, got 4096/);
    model.dispose();
  });
});
