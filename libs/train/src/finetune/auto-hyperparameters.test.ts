import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseAutoHyperparameters,
  AUTO_LR,
  AUTO_MAX_EPOCHS,
  AUTO_MIN_STEPS_CLASSIFICATION,
  describeAutoChoices,
} from './auto-hyperparameters';

const lowrank = (rank: number) => ({ type: 'lowrank', rank, scale: 1, dropout: 0 }) as const;
const cls = (rows: number, tokens: number) => ({
  task: 'classification' as const,
  aux: lowrank(8),
  trainRows: rows,
  rowTokens: Array.from({ length: rows }, () => tokens),
  context: 128,
  tokenCap: 32 * 128 * 8,
});

describe('when auto hyperparameters are chosen', () => {
  it('should give the unseen 4,000-passage task enough steps and a rate that moves a lowrank aux', () => {
    const a = chooseAutoHyperparameters(cls(4000, 700));
    assert.equal(a.batchSize, 32);
    assert.equal(a.lr, AUTO_LR.lowrank);
    assert.ok(a.lr > 1e-3, 'the old default lr 1e-3 left this task at ln 2');
    assert.equal(a.epochs, 2, '125 batches per epoch -> 2 epochs reach 150 steps');
    assert.equal(a.maxLength, 128);
    assert.equal(a.maxWindows, 6, '700 tokens need 6 windows of 128');
    assert.deepEqual(a.choices.map((c) => c.field).sort(), ['batch_size', 'learning_rate', 'max_length', 'max_windows', 'n_epochs']);
    assert.match(describeAutoChoices(a.choices), /n_epochs=2 \(125 batches per epoch/);
  });

  it('should follow short rows with max_length, use one window, and shrink the batch for small data', () => {
    const a = chooseAutoHyperparameters(cls(100, 40));
    assert.equal(a.maxLength, 48, '40 tokens rounded up to 16');
    assert.equal(a.maxWindows, 1);
    assert.equal(a.batchSize, 8);
    assert.equal(a.epochs, Math.min(AUTO_MAX_EPOCHS, Math.ceil(AUTO_MIN_STEPS_CLASSIFICATION / 13)));
  });

  it('should scale the lowrank rate with 1/sqrt(rank) and keep every given value', () => {
    assert.equal(chooseAutoHyperparameters({ ...cls(4000, 100), aux: lowrank(32) }).lr, Number((AUTO_LR.lowrank / 2).toPrecision(3)));
    const given = chooseAutoHyperparameters(cls(4000, 700), { lr: 0.05, epochs: 1, batchSize: 4, maxLength: 64, maxWindows: 1 });
    assert.deepEqual([given.lr, given.epochs, given.batchSize, given.maxLength, given.maxWindows], [0.05, 1, 4, 64, 1]);
    assert.equal(given.choices.length, 0);
  });

  it('should keep an input inside the host memory budget: fewer windows, then a shorter max_length', () => {
    const a = chooseAutoHyperparameters({ ...cls(4000, 700), tokenCap: 4 * 128 });
    assert.equal(a.maxWindows, 4, '6 windows wanted, 4 x 128 tokens fit one chunk');
    assert.equal(a.batchSize, 32, 'the batch is not cut: the host runs it in row chunks');
    assert.match(describeAutoChoices(a.choices), /6 wanted, the host's memory budget holds 4 x 128 tokens per input/);
    const tight = chooseAutoHyperparameters({ ...cls(4000, 700), tokenCap: 64 });
    assert.deepEqual([tight.maxLength, tight.maxWindows], [64, 1]);
    assert.match(describeAutoChoices(tight.choices), /memory budget of 64 tokens per input/);
  });

  it('should train causal LM on context windows with at least 100 steps', () => {
    const a = chooseAutoHyperparameters({
      task: 'causal_lm',
      aux: lowrank(8),
      trainRows: 50,
      rowTokens: [50 * 1000],
      context: 128,
      tokenCap: 4096,
    });
    assert.equal(a.maxLength, 128);
    assert.equal(a.maxWindows, 1);
    assert.equal(a.batchSize, 8);
    assert.equal(a.epochs, 3, 'ceil(50,000 / 128 / 8) = 49 batches per epoch -> 3 epochs');
  });
});
