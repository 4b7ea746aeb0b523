import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, f32Tensor, initBackend, tf, type StTensor } from '@cola/gl';
import { gptConfigToJson, validateGptConfig } from '../config/gpt-config';
import { forward } from '../forward/forward';
import { makeTokenBatch } from '../forward/token-batch';
import { CONFIG_FILE, loadCheckpoint, saveCheckpoint, WEIGHTS_FILE } from './checkpoint';
import { initClassificationHead, initGptModel } from './gpt-init';
import { gptWeightShapes } from './gpt-weight-names';
import type { GptModel } from './gpt-model';

const CONFIG = validateGptConfig({ vocabSize: 37, nPositions: 24, nEmbd: 16, nLayer: 2, nHead: 2 });

/** Seeded random values, independent of tfjs, so the file is built without the model code. */
function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 0.2;
  }
  return out;
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function logitsOf(model: GptModel): Float32Array {
  const batch = makeTokenBatch(
    [
      [1, 2, 3, 4, 5],
      [9, 8, 7],
    ],
    { padId: 36 },
  );
  const out = tf.tidy(() => forward(model, batch, { head: model.config.numLabels ? 'cls' : 'lm' }));
  const v = out.dataSync() as Float32Array;
  out.dispose();
  return v;
}

describe('when a GPT-2 layout safetensors checkpoint is read and written', () => {
  let dir: string;
  before(async () => {
    await initBackend({ log: null });
    dir = await mkdtemp(join(tmpdir(), 'cola-ckpt-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should load a Hugging Face style file (transformer. prefix, mask buffers, tied lm_head) with every tensor equal', async () => {
    const tensors: Record<string, StTensor> = {};
    const values = new Map<string, Float32Array>();
    let seed = 1;
    for (const [name, shape] of gptWeightShapes(CONFIG)) {
      const v = randomValues(numel(shape), seed++);
      values.set(name, v);
      tensors[`transformer.${name}`] = f32Tensor(shape, v);
    }
    // Buffers that old transformers versions saved, and the tied head: all must be ignored.
    tensors['transformer.h.0.attn.bias'] = f32Tensor([1, 1, 24, 24], new Float32Array(576));
    tensors['transformer.h.1.attn.masked_bias'] = f32Tensor([], new Float32Array([-1e4]));
    tensors['lm_head.weight'] = tensors['transformer.wte.weight'];
    const hfDir = join(dir, 'hf');
    await saveRaw(hfDir, { ...gptConfigToJson(CONFIG), activation_function: 'gelu_new' }, encodeSafetensors(tensors, { format: 'pt' }));

    const model = await loadCheckpoint(hfDir);
    assert.deepEqual(model.config, CONFIG);
    assert.equal(model.names().length, gptWeightShapes(CONFIG).size);
    for (const [name, v] of values) assert.deepEqual(model.weight(name).dataSync(), v, `${name} differs`);
    assert.equal(model.weight('h.0.attn.c_attn.weight').trainable, false);
    model.dispose();
  });

  it('should round-trip our own checkpoint with an LM and a classification head, giving equal forward outputs', async () => {
    for (const withHead of [false, true]) {
      const model = initGptModel(CONFIG, { seed: 11 });
      if (withHead) initClassificationHead(model, 3, { seed: 2 });
      const out = join(dir, withHead ? 'cls' : 'lm');
      await saveCheckpoint(out, model, { metadata: { note: 'test' }, config: { id2label: { 0: 'a', 1: 'b', 2: 'c' } } });
      const json = JSON.parse(await readFile(join(out, CONFIG_FILE), 'utf8')) as Record<string, unknown>;
      assert.equal(json.n_embd, 16);
      assert.equal(json.model_type, 'gpt2');
      const { metadata, tensors } = decodeSafetensors(new Uint8Array(await readFile(join(out, WEIGHTS_FILE))));
      assert.equal(metadata.note, 'test');
      assert.equal(metadata.format, 'pt');
      assert.deepEqual(tensors['h.1.mlp.c_fc.weight'].shape, [16, 64]);

      const loaded = await loadCheckpoint(out);
      assert.deepEqual(loaded.config, model.config);
      for (const name of model.names()) assert.deepEqual(loaded.weight(name).dataSync(), model.weight(name).dataSync());
      assert.deepEqual(logitsOf(loaded), logitsOf(model));
      model.dispose();
      loaded.dispose();
    }
  });

  it('should give a HF classification head without bias a zero bias', async () => {
    const tensors: Record<string, StTensor> = {};
    let seed = 50;
    for (const [name, shape] of gptWeightShapes(CONFIG)) tensors[name] = f32Tensor(shape, randomValues(numel(shape), seed++));
    tensors['score.weight'] = f32Tensor([2, 16], randomValues(32, 99));
    const hfDir = join(dir, 'hf-cls');
    await saveRaw(hfDir, gptConfigToJson(CONFIG), encodeSafetensors(tensors));
    const model = await loadCheckpoint(hfDir);
    assert.equal(model.config.numLabels, 2);
    assert.deepEqual(model.weight('score.bias').dataSync(), new Float32Array(2));
    assert.equal(logitsOf(model).length, 4);
    model.dispose();
  });

  it('should reject missing, misshapen and unexpected tensors by name', async () => {
    const base: Record<string, StTensor> = {};
    let seed = 70;
    for (const [name, shape] of gptWeightShapes(CONFIG)) base[name] = f32Tensor(shape, randomValues(numel(shape), seed++));
    const cases: [Record<string, StTensor>, RegExp][] = [
      [{ ...base, 'h.0.ln_1.weight': f32Tensor([8], new Float32Array(8)) }, /h\.0\.ln_1\.weight has shape \[8\], expected \[16\]/],
      [Object.fromEntries(Object.entries(base).filter(([n]) => n !== 'ln_f.bias')), /missing ln_f\.bias \[16\]/],
      [{ ...base, 'h.0.attn.q_proj.weight': f32Tensor([16, 16], new Float32Array(256)) }, /unexpected tensor "h\.0\.attn\.q_proj\.weight"/],
    ];
    const before = tf.memory().numTensors;
    for (const [i, [tensors, message]] of cases.entries()) {
      const d = join(dir, `bad-${i}`);
      await saveRaw(d, gptConfigToJson(CONFIG), encodeSafetensors(tensors));
      await assert.rejects(loadCheckpoint(d), message);
    }
    assert.equal(tf.memory().numTensors, before, 'a failed load must free what it allocated');
    await assert.rejects(loadCheckpoint(join(dir, 'nowhere')), /No config\.json in/);
  });
});

async function saveRaw(dir: string, config: unknown, bytes: Uint8Array): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, CONFIG_FILE), JSON.stringify(config));
  await writeFile(join(dir, WEIGHTS_FILE), bytes);
}
