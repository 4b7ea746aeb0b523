import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DType, Task, TransferMode, type JobSpec } from '@cola/proto';
import { JobSpecError, validateJobSpec, validationInterval } from './job-spec';

function spec(over: Partial<JobSpec> = {}): JobSpec {
  return {
    jobId: 'job-1',
    tenantId: 'tenant-a',
    baseModel: 'cola-tiny',
    task: Task.TASK_CLASSIFICATION,
    trainingFileId: 'file-1',
    validationFileId: 'file-2',
    labels: ['ham', 'spam'],
    method: {
      aux: { kind: { $case: 'lowrank', value: { rank: 4, scale: 1, dropout: 0 } } },
      targetModules: [],
      merged: false,
      interval: 0,
      staleness: 0,
      transfer: undefined,
      mergeGroup: '',
    },
    hyperparameters: undefined,
    seed: 7,
    ...over,
  };
}

function expectParam(s: JobSpec, param: string, message: RegExp): void {
  assert.throws(
    () => validateJobSpec(s),
    (e: unknown) => e instanceof JobSpecError && e.param === param && message.test(e.message),
  );
}

describe('when a job spec is validated', () => {
  it('should fill the paper defaults for zero values', () => {
    const v = validateJobSpec(spec());
    assert.equal(v.task, 'classification');
    assert.deepEqual(v.options.targetModules, ['c_attn', 'score']);
    assert.equal(v.options.interval, 1);
    assert.equal(v.staleness, 1);
    assert.equal(v.options.batchSize, 32);
    assert.equal(v.options.seed, 7);
    assert.deepEqual(v.transfer, { mode: 'auto', dtype: 'fp32' });
    assert.equal(v.options.aux.type, 'lowrank');
  });

  it('should refuse gram transfer with an mlp aux, naming the field', () => {
    const s = spec();
    s.method = {
      ...s.method!,
      aux: { kind: { $case: 'mlp', value: { hidden: [8], activation: 'relu' } } },
      transfer: { mode: TransferMode.TRANSFER_MODE_GRAM, dtype: DType.DTYPE_FP16 },
    };
    expectParam(s, 'method.transfer.mode', /gram transfer is not possible with a mlp aux/);
  });

  it('should refuse bad values with the API field in param', () => {
    expectParam(spec({ task: Task.TASK_UNSPECIFIED }), 'task', /classification/);
    expectParam(spec({ labels: ['only'] }), 'training_file', /two distinct labels/);
    expectParam(spec({ trainingFileId: '' }), 'training_file', /required/);
    const rank0 = spec();
    rank0.method = { ...rank0.method!, aux: { kind: { $case: 'lowrank', value: { rank: -1, scale: 1, dropout: 0 } } } };
    expectParam(rank0, 'method.aux.rank', /rank/);
    const mergedMlp = spec();
    mergedMlp.method = { ...mergedMlp.method!, merged: true, aux: { kind: { $case: 'mlp', value: { hidden: [8], activation: 'relu' } } } };
    expectParam(mergedMlp, 'method.merged', /mergeable/);
    expectParam(
      spec({
        hyperparameters: {
          epochs: 0,
          batchSize: 100000,
          maxLength: 0,
          optimizer: undefined,
          warmupFraction: 0,
          maxSteps: 0,
          validationEvery: 0,
          maxWindows: 0,
        },
      }),
      'hyperparameters.batch_size',
      /4096/,
    );
    const lr = spec({
      hyperparameters: {
        epochs: 1,
        batchSize: 8,
        maxLength: 64,
        optimizer: { kind: { $case: 'adamw', value: { lr: -1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 } } },
        warmupFraction: 0,
        maxSteps: 0,
        validationEvery: 0,
        maxWindows: 0,
      },
    });
    expectParam(lr, 'hyperparameters.optimizer.lr', /lr/);
    const stale = spec();
    stale.method = { ...stale.method!, staleness: 1000 };
    expectParam(stale, 'method.staleness', /1 to 64/);
  });
});

describe('when a job leaves values at auto or bounds its steps', () => {
  const hp = {
    epochs: 0,
    batchSize: 0,
    maxLength: 0,
    optimizer: undefined,
    warmupFraction: 0,
    maxSteps: 0,
    validationEvery: 0,
    maxWindows: 0,
  };

  it('should mark every zero value as auto and keep given ones, max_steps and validation_every included', () => {
    const auto = validateJobSpec(spec({ hyperparameters: hp }));
    assert.deepEqual(auto.given, { lr: undefined, epochs: undefined, batchSize: undefined, maxLength: undefined, maxWindows: undefined });
    assert.equal(auto.options.maxSteps, undefined);
    assert.equal(auto.validationEvery, undefined);
    const bounded = validateJobSpec(
      spec({ hyperparameters: { ...hp, epochs: 3, batchSize: 8, maxSteps: 5, validationEvery: 2, maxWindows: 4 } }),
    );
    assert.deepEqual(bounded.given, { lr: undefined, epochs: 3, batchSize: 8, maxLength: undefined, maxWindows: 4 });
    assert.throws(
      () => validateJobSpec(spec({ hyperparameters: { ...hp, maxWindows: 65 } })),
      (e: Error & { param?: string }) => e.param === 'hyperparameters.max_windows' && /from 1 to 64/.test(e.message),
    );
    assert.equal(bounded.options.maxSteps, 5);
    assert.equal(bounded.validationEvery, 2);
  });

  it('should validate about five times per run by default, or every validation_every steps', () => {
    assert.equal(validationInterval(undefined, 100), 20);
    assert.equal(validationInterval(undefined, 3), 1);
    assert.equal(validationInterval(7, 100), 7);
  });
});
