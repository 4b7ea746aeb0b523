import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AdaptationBatch,
  AdaptationTask,
  AuxPublished,
  AuxState,
  ClassifyRequest,
  ClassifyResponse,
  DType,
  GenerateRequest,
  GenerateResponse,
  JobEvent,
  JobSpec,
  NamedTensor,
  StatusRequest,
  StatusResponse,
  Task,
  Tensor,
  TensorRef,
  TransferMode,
  TransferOptions,
  bytesToTensor,
  float32ToTensor,
  int32ToTensor,
  tensorRefFor,
  tensorToFloat32,
  type MessageCodec,
} from './index';
import { bitsOf, sampleBatch, seededFloats } from './test-fixtures';

/** Encodes, decodes and checks deep equality; also that re-encoding gives the same bytes. */
function roundTrip<T>(codec: MessageCodec<T>, message: T): T {
  const bytes = codec.encode(message).finish();
  const decoded = codec.decode(bytes);
  assert.deepStrictEqual(decoded, message);
  assert.deepStrictEqual(codec.encode(decoded).finish(), bytes, 're-encoding is byte-identical');
  return decoded;
}

/**
 * Proto3 does not put default values (0, '', false, empty) on the wire, so a round trip of a
 * default field proves nothing: the samples below must set every field, and this checks they do.
 */
function assertNoDefaults(value: unknown, path = 'message'): void {
  if (Buffer.isBuffer(value)) assert.ok(value.byteLength > 0, `${path} is empty`);
  else if (Array.isArray(value)) {
    assert.ok(value.length > 0, `${path} is empty`);
    value.forEach((v, i) => assertNoDefaults(v, `${path}[${i}]`));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertNoDefaults(v, `${path}.${k}`);
  } else assert.ok(value !== 0 && value !== '' && value !== false && value !== undefined, `${path} is a default value`);
}

/** A sample with every field set survives the round trip. */
function checkAll<T>(codec: MessageCodec<T>, message: T): void {
  assertNoDefaults(message);
  roundTrip(codec, message);
}

const lowrankState: AuxState = {
  jobId: 'ftjob-1',
  version: 12,
  step: 12,
  optimizer: { kind: { $case: 'adamw', value: { lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 5e-4 } } },
  layers: [
    {
      tap: 'h.0.attn.q',
      dIn: 4,
      dOut: 3,
      params: [
        { name: 'A', tensor: float32ToTensor([4, 2], seededFloats(8, 1)) },
        { name: 'B', tensor: float32ToTensor([2, 3], seededFloats(6, 2)) },
      ],
      optimizerSlots: [
        { name: 'A/m', tensor: float32ToTensor([4, 2], seededFloats(8, 3)) },
        { name: 'A/v', tensor: float32ToTensor([4, 2], seededFloats(8, 4)) },
      ],
      optimizerStep: 12,
      config: { kind: { $case: 'lowrank', value: { rank: 2, scale: 1.5, dropout: 0.1 } } },
    },
  ],
  schedule: { peakLr: 3e-4, totalSteps: 100, warmupSteps: 5 },
  clipNorm: 1,
};

/** The same state with every layer's aux config replaced. */
function withLayerConfig(state: AuxState, config: AuxState['layers'][number]['config']): AuxState {
  return { ...state, layers: state.layers.map((l) => ({ ...l, config })) };
}

describe('when every cola.v1 message is encoded and decoded', () => {
  it('should return equal tensors, named tensors, references and transfer options', () => {
    roundTrip(Tensor, float32ToTensor([2, 3], seededFloats(6, 5)));
    roundTrip(Tensor, int32ToTensor([4], new Int32Array([-1, 0, 2 ** 31 - 1, -(2 ** 31)])));
    roundTrip(Tensor, bytesToTensor(DType.DTYPE_BF16, [3], new Uint8Array([1, 2, 3, 4, 5, 6])));
    checkAll(NamedTensor, { name: 'B', tensor: float32ToTensor([1], new Float32Array([0.5])) });
    checkAll(TensorRef, tensorRefFor('cola:adapt:ftjob-1:7', new Uint8Array([1, 2, 3])));
    checkAll(TransferOptions, { mode: TransferMode.TRANSFER_MODE_GRAM, dtype: DType.DTYPE_FP16 });
  });

  it('should return equal adaptation batches in both transfer modes, and their tasks', () => {
    for (const mode of [TransferMode.TRANSFER_MODE_ACTIVATIONS, TransferMode.TRANSFER_MODE_GRAM]) {
      checkAll(AdaptationBatch, sampleBatch(mode));
    }
    const blob = AdaptationBatch.encode(sampleBatch(TransferMode.TRANSFER_MODE_GRAM)).finish();
    const task: AdaptationTask = {
      jobId: 'ftjob-1',
      tenantId: 'tenant-a',
      seq: 7,
      auxVersion: 6,
      payload: tensorRefFor('cola:adapt:ftjob-1:7', blob),
    };
    checkAll(AdaptationTask, task);
  });

  it('should return equal aux states for every aux type and optimizer', () => {
    checkAll(AuxState, lowrankState);
    const linear: AuxState = {
      ...withLayerConfig(lowrankState, { kind: { $case: 'linear', value: { bias: true } } }),
      optimizer: { kind: { $case: 'sgd', value: { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 } } },
    };
    checkAll(AuxState, linear);
    const mlp: AuxState = withLayerConfig(lowrankState, { kind: { $case: 'mlp', value: { hidden: [128, 256], activation: 'relu' } } });
    checkAll(AuxState, mlp);
  });

  it('should return equal events and job specs', () => {
    const published: AuxPublished = {
      jobId: 'ftjob-1',
      tenantId: 'tenant-a',
      version: 13,
      seq: 12,
      stateKey: 'cola:aux:ftjob-1:13',
      mergeable: true,
      publishedAtMs: Date.now(),
    };
    const event: JobEvent = {
      jobId: 'ftjob-1',
      level: 'info',
      message: 'step 12: loss 2.31',
      metrics: { step: 12, loss: 2.31, tokens: 49_152, bytesTransferred: 123_456_789 },
      createdAtMs: Date.now(),
    };
    const spec: JobSpec = {
      jobId: 'ftjob-1',
      tenantId: 'tenant-a',
      baseModel: 'cola-gpt-small',
      task: Task.TASK_CLASSIFICATION,
      trainingFileId: 'file-train',
      validationFileId: 'file-valid',
      labels: ['ham', 'spam'],
      method: {
        aux: { kind: { $case: 'lowrank', value: { rank: 8, scale: 1, dropout: 0.05 } } },
        targetModules: ['attn.q', 'attn.v', 'head'],
        merged: true,
        interval: 2,
        staleness: 1,
        transfer: { mode: TransferMode.TRANSFER_MODE_ACTIVATIONS, dtype: DType.DTYPE_BF16 },
        mergeGroup: 'col-1',
      },
      hyperparameters: {
        epochs: 3,
        batchSize: 32,
        maxLength: 128,
        optimizer: { kind: { $case: 'adamw', value: { lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 5e-4 } } },
        warmupFraction: 0.05,
        maxSteps: 40,
        validationEvery: 10,
        maxWindows: 4,
      },
      seed: 42,
    };
    checkAll(AuxPublished, published);
    checkAll(JobEvent, event);
    checkAll(JobSpec, spec);
  });

  it('should return equal inference requests and responses', () => {
    checkAll(ClassifyRequest, { model: 'ft:cola-gpt-small:tenant-a:ftjob-1', texts: ['win money now', 'lunch?'] });
    checkAll(ClassifyResponse, {
      model: 'ft:cola-gpt-small:tenant-a:ftjob-1',
      version: 13,
      results: [
        {
          label: 'spam',
          scores: [
            { label: 'ham', score: 0.25 },
            { label: 'spam', score: 0.75 },
          ],
        },
      ],
    });
    checkAll(GenerateRequest, { model: 'base', prompt: 'Call me', maxNewTokens: 16, temperature: 0.8, seed: 7 });
    checkAll(GenerateResponse, { model: 'base', version: 1, text: ' Ishmael.', completionTokens: 3 });
    checkAll(StatusResponse, {
      models: [
        {
          name: 'ft:cola-gpt-small:tenant-a:ftjob-1',
          baseModel: 'cola-gpt-small',
          version: 13,
          merged: true,
          mergeGroup: 'col-1',
          updatedAtMs: 1_700_000_000_000,
        },
      ],
    });
    // StatusRequest has no fields: it encodes to zero bytes and decodes back to an empty message.
    assert.equal(StatusRequest.encode({}).finish().byteLength, 0);
    roundTrip(StatusRequest, {});
  });

  it('should keep 64-bit counters exact up to 2^53 - 1 and negative int64 timestamps', () => {
    const big = Number.MAX_SAFE_INTEGER;
    const decoded = roundTrip(AuxPublished, {
      ...AuxPublished.create(),
      jobId: 'j',
      version: big,
      seq: big - 1,
      publishedAtMs: -86_400_000,
    });
    assert.equal(decoded.version, big);
    assert.equal(decoded.publishedAtMs, -86_400_000);
  });
});

describe('when an encoded message sits at an odd byte offset', () => {
  it('should decode it and copy every float out bit-exactly', () => {
    const values = seededFloats(37, 9);
    values.set([Number.NaN, -0, Infinity, -Infinity, 1.4e-45, 3.4028234663852886e38], 0);
    const bytes = Tensor.encode(float32ToTensor([values.length], values)).finish();
    for (const offset of [1, 2, 3, 5]) {
      const backing = new Uint8Array(bytes.byteLength + offset);
      backing.set(bytes, offset);
      const decoded = Tensor.decode(backing.subarray(offset));
      assert.deepStrictEqual(bitsOf(tensorToFloat32(decoded)), bitsOf(values));
    }
  });
});
