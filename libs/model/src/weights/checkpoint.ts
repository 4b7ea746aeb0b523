import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, f32Tensor, tf, toFloat32, type StTensor } from '@cola/gl';
import { gptConfigFromJson, gptConfigToJson, type GptConfig } from '../config/gpt-config';
import { GptModel, type GptModelOptions } from './gpt-model';
import { gptWeightShapes } from './gpt-weight-names';

/** File names of a checkpoint directory, as Hugging Face names them. */
export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';

/** Extra content for {@link saveCheckpoint}. */
export interface CheckpointExtra {
  /** String metadata stored in the safetensors header (`__metadata__`), next to `format: pt`. */
  metadata?: Record<string, string>;
  /** Extra fields merged into config.json (e.g. `id2label`); they cannot override GPT-2 fields. */
  config?: Record<string, unknown>;
}

/**
 * Tensors that a Hugging Face GPT-2 file may carry but that are not weights: the causal-mask
 * buffers of old transformers versions, and the LM head, which GPT-2 ties to `wte`.
 */
function isIgnoredTensor(name: string): boolean {
  return /(^|\.)attn\.(bias|masked_bias)$/.test(name) || name === 'lm_head.weight';
}

/** Serialises a model's weights to safetensors bytes, with GPT-2 tensor names in F32. */
export function modelToSafetensors(model: GptModel, metadata: Record<string, string> = {}): Uint8Array {
  const tensors: Record<string, StTensor> = {};
  for (const name of model.names()) {
    const v = model.weight(name);
    tensors[name] = f32Tensor(v.shape, v.dataSync() as Float32Array);
  }
  // `format: pt` is what transformers checks before it loads a safetensors file.
  return encodeSafetensors(tensors, { format: 'pt', ...metadata });
}

/**
 * Builds a model from safetensors bytes and its config. Accepts Hugging Face's `transformer.`
 * prefix, F16/BF16 weights, and a `score` head without bias (HF's has none); ignores the
 * attention-mask buffers and a tied `lm_head.weight`. A `score.weight` in the file sets
 * `numLabels`; a config that names labels but has no `score` tensor loads as a pure LM.
 */
export function modelFromSafetensors(rawConfig: GptConfig, bytes: Uint8Array, opts: GptModelOptions = {}): GptModel {
  const { tensors } = decodeSafetensors(bytes);
  const named = new Map<string, StTensor>();
  for (const [fileName, t] of Object.entries(tensors)) {
    const name = fileName.startsWith('transformer.') ? fileName.slice('transformer.'.length) : fileName;
    if (isIgnoredTensor(name)) continue;
    if (named.has(name)) throw new Error(`checkpoint holds "${name}" twice (with and without the transformer. prefix)`);
    named.set(name, t);
  }
  const config: GptConfig = { ...rawConfig };
  const score = named.get('score.weight');
  if (score) {
    const fileLabels = score.shape[0];
    if (config.numLabels !== undefined && config.numLabels !== fileLabels) {
      throw new Error(`config.json says numLabels=${config.numLabels}, but score.weight has ${fileLabels} rows`);
    }
    config.numLabels = fileLabels;
    if (!named.has('score.bias')) named.set('score.bias', f32Tensor([fileLabels], new Float32Array(fileLabels)));
  } else {
    delete config.numLabels;
  }
  const expected = gptWeightShapes(config);
  const weights = new Map<string, tf.Tensor>();
  try {
    for (const [name, t] of named) {
      if (!expected.has(name)) throw new Error(`checkpoint has an unexpected tensor "${name}"; is it a GPT-2 checkpoint of this config?`);
      weights.set(name, tf.tensor(toFloat32(t), t.shape, 'float32'));
    }
  } catch (err) {
    for (const w of weights.values()) w.dispose();
    throw err;
  }
  return new GptModel(config, weights, opts);
}

/** Writes `config.json` (GPT-2 field names) and `model.safetensors` into `dir`, creating it. */
export async function saveCheckpoint(dir: string, model: GptModel, extra: CheckpointExtra = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const config = { ...(extra.config ?? {}), ...gptConfigToJson(model.config) };
  await writeFile(join(dir, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(dir, WEIGHTS_FILE), modelToSafetensors(model, extra.metadata));
}

/** Reads the GPT-2 config of a checkpoint directory without loading its weights. */
export async function readCheckpointConfig(dir: string): Promise<GptConfig> {
  const path = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(`No ${CONFIG_FILE} in ${dir}; a checkpoint directory holds ${CONFIG_FILE} and ${WEIGHTS_FILE}`);
  }
  try {
    return gptConfigFromJson(JSON.parse(text) as unknown);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/** Loads a checkpoint directory written by {@link saveCheckpoint}, or a Hugging Face GPT-2 one. */
export async function loadCheckpoint(dir: string, opts: GptModelOptions = {}): Promise<GptModel> {
  const config = await readCheckpointConfig(dir);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(dir, WEIGHTS_FILE));
  } catch {
    throw new Error(`No ${WEIGHTS_FILE} in ${dir}`);
  }
  return modelFromSafetensors(config, bytes, opts);
}
