import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gptConfigFromJson, gptConfigToJson, validateGptConfig } from './gpt-config';

const GOOD = { vocabSize: 37, nPositions: 24, nEmbd: 16, nLayer: 2, nHead: 2 };

describe('when a GptConfig is validated', () => {
  it('should fill in layerNormEpsilon and keep the sizes', () => {
    const cfg = validateGptConfig(GOOD);
    assert.equal(cfg.layerNormEpsilon, 1e-5);
    assert.equal(cfg.nEmbd, 16);
    assert.equal(cfg.numLabels, undefined);
  });

  it('should reject nEmbd not divisible by nHead and say which nHead would work', () => {
    assert.throws(
      () => validateGptConfig({ ...GOOD, nEmbd: 18, nHead: 4 }),
      /nEmbd \(18\) must be divisible by nHead \(4\); pick e\.g\. nHead=3/,
    );
  });

  it('should report every bad field at once', () => {
    assert.throws(
      () => validateGptConfig({ ...GOOD, vocabSize: 0, nLayer: 1.5, layerNormEpsilon: -1 }),
      (err: Error) =>
        /vocabSize must be a positive integer \(got 0\)/.test(err.message) &&
        /nLayer must be a positive integer \(got 1\.5\)/.test(err.message) &&
        /layerNormEpsilon must be a small positive number/.test(err.message),
    );
  });

  it('should reject a missing size, an unknown field and a non-object', () => {
    const { nHead: _nHead, ...noHead } = GOOD;
    assert.throws(() => validateGptConfig(noHead), /nHead must be a positive integer \(got undefined\)/);
    assert.throws(() => validateGptConfig({ ...GOOD, n_embd: 16 }), /unknown field\(s\) n_embd; valid fields are/);
    assert.throws(() => validateGptConfig('gpt2'), /GptConfig must be an object/);
    assert.throws(() => validateGptConfig({ ...GOOD, numLabels: 0 }), /numLabels must be a positive integer/);
    assert.throws(() => validateGptConfig({ ...GOOD, clsPooling: 'max' }), /clsPooling must be one of last, mean/);
  });
});

describe('when a config goes through GPT-2 config.json', () => {
  it('should use GPT-2 field names and read them back unchanged', () => {
    const cfg = validateGptConfig({ ...GOOD, numLabels: 3 });
    const json = gptConfigToJson(cfg);
    assert.deepEqual(json, {
      model_type: 'gpt2',
      vocab_size: 37,
      n_positions: 24,
      n_embd: 16,
      n_layer: 2,
      n_head: 2,
      layer_norm_epsilon: 1e-5,
      num_labels: 3,
    });
    assert.deepEqual(gptConfigFromJson(JSON.parse(JSON.stringify(json))), cfg);
  });

  it('should write the cls pooling as cls_pooling and read it back; a file without it reads as last-token pooling', () => {
    const cfg = validateGptConfig({ ...GOOD, numLabels: 2, clsPooling: 'mean' });
    const json = gptConfigToJson(cfg);
    assert.equal(json.cls_pooling, 'mean');
    assert.deepEqual(gptConfigFromJson(JSON.parse(JSON.stringify(json))), cfg);
    const { cls_pooling: _p, ...old } = json;
    assert.equal(gptConfigFromJson(old).clsPooling, undefined);
  });

  it('should read a Hugging Face config with extra fields, and reject another model type', () => {
    const hf = {
      model_type: 'gpt2',
      vocab_size: 50257,
      n_ctx: 1024,
      n_embd: 768,
      n_layer: 12,
      n_head: 12,
      activation_function: 'gelu_new',
      id2label: { 0: 'a', 1: 'b' },
    };
    const cfg = gptConfigFromJson(hf);
    assert.equal(cfg.nPositions, 1024);
    assert.equal(cfg.numLabels, 2);
    assert.throws(() => gptConfigFromJson({ ...hf, model_type: 'llama' }), /model_type "llama"; only "gpt2" is supported/);
  });
});
