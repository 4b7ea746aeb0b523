import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateAuxConfig, type AuxConfig } from '@cola/gl';
import type { GptConfig } from '@cola/model';
import { Task, type JobSpec } from '@cola/proto';
import { validateJobSpec } from '../jobs/job-spec';
import { resolveJobTransfer } from './job-transfer';
import { chooseTransfer, transferSizes, type TransferLayer } from './transfer-choice';

const lowrank = validateAuxConfig({ type: 'lowrank', rank: 8 });
const linearHead = validateAuxConfig({ type: 'linear', bias: true });

/** A block tap of width d (c_attn: d → 3d) with `rows` rows per host batch. */
function cAttn(d: number, rows: number, aux: AuxConfig = lowrank): TransferLayer {
  return { tap: 'h.0.attn.c_attn', dIn: d, dOut: 3 * d, rowsPerBatch: rows, aux };
}

function head(d: number, batch: number, aux: AuxConfig = linearHead): TransferLayer {
  return { tap: 'score', dIn: d, dOut: 2, rowsPerBatch: batch, aux };
}

describe('when transfer auto picks the encoding', () => {
  it('should pick gram for lowrank without dropout, linear and the classifier head when X^T G is smaller', () => {
    for (const aux of [lowrank, validateAuxConfig({ type: 'linear' })]) {
      const c = chooseTransfer({ mode: 'auto', dtype: 'fp32' }, { layers: [cAttn(128, 32 * 64, aux), head(128, 32)], interval: 1 });
      assert.equal(c.spec.mode, 'gram', `${aux.type}`);
      assert.equal(c.reason, 'auto_gram_smaller');
      assert.ok(c.gramBytes! < c.activationsBytes);
      assert.match(c.message, /gram\/fp32 \(auto\)/);
    }
  });

  it('should pick activations when an mlp aux is among the layers, whatever the sizes', () => {
    const mlp = validateAuxConfig({ type: 'mlp', hidden: [16] });
    const c = chooseTransfer({ mode: 'auto', dtype: 'fp32' }, { layers: [cAttn(128, 4096, mlp), head(128, 32)], interval: 4 });
    assert.deepEqual(c.spec, { mode: 'activations', dtype: 'fp32' });
    assert.equal(c.reason, 'auto_gram_unsupported');
    assert.equal(c.gramBytes, null);
    assert.match(c.message, /mlp aux of h\.0\.attn\.c_attn cannot use gram/);
  });

  it('should pick activations when a lowrank aux has input dropout', () => {
    const drop = validateAuxConfig({ type: 'lowrank', rank: 8, dropout: 0.1 });
    const c = chooseTransfer({ mode: 'auto', dtype: 'bf16' }, { layers: [cAttn(128, 4096, drop)], interval: 1 });
    assert.deepEqual(c.spec, { mode: 'activations', dtype: 'bf16' });
    assert.equal(c.reason, 'auto_gram_unsupported');
    assert.match(c.message, /dropout/);
  });

  it('should pick activations at GPT-2 width with few tokens per fit task, and gram once the interval passes the break-even', () => {
    // c_attn at d=768: gram pays above dIn·dOut/(dIn+dOut) = 576 rows per fit task.
    const few = chooseTransfer({ mode: 'auto', dtype: 'fp32' }, { layers: [cAttn(768, 2 * 96)], interval: 1 });
    assert.equal(few.spec.mode, 'activations');
    assert.equal(few.reason, 'auto_activations_smaller');
    const many = chooseTransfer({ mode: 'auto', dtype: 'fp32' }, { layers: [cAttn(768, 2 * 96)], interval: 4 });
    assert.equal(many.spec.mode, 'gram');
  });

  it('should count both sizes from the shapes, the rows per batch and the interval', () => {
    const layers = [cAttn(128, 1024), head(128, 16)];
    const s = transferSizes(layers, 2, 'fp32');
    assert.equal(s.activations, 4 * 1024 * 2 * (128 + 384) + 4 * 16 * 2 * (128 + 2));
    assert.equal(s.gram, 4 * (128 * 384 + 384) + 4 * (128 * 2 + 2));
    assert.equal(transferSizes(layers, 2, 'fp16').gram * 2, s.gram);
  });

  it('should keep an explicit mode and say it was requested', () => {
    const c = chooseTransfer({ mode: 'activations', dtype: 'fp16' }, { layers: [cAttn(128, 4096)], interval: 1 });
    assert.deepEqual(c.spec, { mode: 'activations', dtype: 'fp16' });
    assert.equal(c.reason, 'requested');
  });

  it('should refuse an interval below 1 and a job without layers', () => {
    assert.throws(() => chooseTransfer({ mode: 'auto', dtype: 'fp32' }, { layers: [cAttn(8, 8)], interval: 0 }), /interval/);
    assert.throws(() => chooseTransfer({ mode: 'auto', dtype: 'fp32' }, { layers: [], interval: 1 }), /no layer/);
  });
});

describe('when the demo job is resolved on cola-tiny', () => {
  it('should resolve auto to gram, under 300 bytes per token', () => {
    const config: GptConfig = { vocabSize: 258, nPositions: 128, nEmbd: 128, nLayer: 4, nHead: 4, layerNormEpsilon: 1e-5, numLabels: 2 };
    const spec: JobSpec = {
      jobId: 'job-1',
      tenantId: 'tenant-a',
      baseModel: 'cola-tiny',
      task: Task.TASK_CLASSIFICATION,
      trainingFileId: 'file-1',
      validationFileId: '',
      labels: ['ham', 'spam'],
      method: undefined,
      hyperparameters: {
        epochs: 1,
        batchSize: 32,
        maxLength: 128,
        warmupFraction: 0,
        optimizer: undefined,
        maxSteps: 0,
        validationEvery: 0,
        maxWindows: 0,
      },
      seed: 1,
    };
    const v = validateJobSpec(spec);
    assert.equal(v.transfer.mode, 'auto');
    const taps = ['h.0.attn.c_attn', 'h.1.attn.c_attn', 'h.2.attn.c_attn', 'h.3.attn.c_attn', 'score'];
    const c = resolveJobTransfer(config, v, taps);
    assert.equal(c.spec.mode, 'gram');
    assert.ok(c.gramBytes! / (32 * 128) < 300, `gram moves ${(c.gramBytes! / (32 * 128)).toFixed(0)} B/token`);
  });
});
