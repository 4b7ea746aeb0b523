import { tf } from '@cola/gl';
import { validateGptConfig, type ClsPooling, type GptConfig } from '../config/gpt-config';
import { GptModel, type GptModelOptions } from './gpt-model';
import { gptWeightShapes, isResidualProjection } from './gpt-weight-names';

/** Options for {@link initGptModel}. */
export interface InitGptOptions extends GptModelOptions {
  /** Seed of the weight initialisation; the same seed and config give bit-identical weights. Default 0. */
  seed?: number;
  /** Standard deviation of the normal initialisation (GPT-2's `initializer_range`). Default 0.02. */
  initializerRange?: number;
}

/**
 * A tensor-specific seed. tfjs seeds each random op separately, so deriving one seed per weight
 * from the model seed keeps the whole model reproducible however the names are ordered.
 */
function weightSeed(seed: number, index: number): number {
  return (seed * 1_000_003 + index * 7_919 + 17) % 2_147_483_647;
}

/**
 * GPT-2's initialisation: normal(0, 0.02) for embeddings and linear weights, with the residual
 * projections (`c_proj`) scaled by 1/sqrt(2 nLayer) so the residual stream's variance does not
 * grow with depth; zero biases, unit LayerNorm gains.
 */
export function initGptModel(rawConfig: GptConfig, opts: InitGptOptions = {}): GptModel {
  const config = validateGptConfig(rawConfig);
  const seed = opts.seed ?? 0;
  const std = opts.initializerRange ?? 0.02;
  const weights = new Map<string, tf.Tensor>();
  let i = 0;
  for (const [name, shape] of gptWeightShapes(config)) {
    weights.set(name, initTensor(name, shape, std, config, weightSeed(seed, i++)));
  }
  return new GptModel(config, weights, opts);
}

function initTensor(name: string, shape: number[], std: number, config: GptConfig, seed: number): tf.Tensor {
  if (/(^|\.)ln_(1|2|f)\.weight$/.test(name)) return tf.ones(shape);
  if (name.endsWith('.bias')) return tf.zeros(shape);
  const s = isResidualProjection(name) ? std / Math.sqrt(2 * config.nLayer) : std;
  return tf.randomNormal(shape, 0, s, 'float32', seed);
}

/** Options for {@link initClassificationHead}. */
export interface InitHeadOptions {
  /** Seed of the head's initialisation. Default 0. */
  seed?: number;
  /** Standard deviation of the normal initialisation. Default 0.02, as GPT-2 initialises `score`. */
  initializerRange?: number;
  /**
   * How the head pools a row's final hidden states. Default 'mean' (the mean over real tokens):
   * a linear probe on the frozen cola-tiny features of the bench's authorship task reached 85% with
   * mean pooling and 63% with the last token (docs/auto.md); a byte-level model's last position
   * mostly encodes the next byte, not the passage.
   */
  pooling?: ClsPooling;
}

/**
 * (Re)initialises the sequence-classification head `score` with `numLabels` classes on a model,
 * e.g. a pretrained LM about to be fine-tuned for classification. Any previous head is replaced.
 */
export function initClassificationHead(model: GptModel, numLabels: number, opts: InitHeadOptions = {}): void {
  if (!Number.isInteger(numLabels) || numLabels < 2) {
    throw new Error(`numLabels must be an integer >= 2 for a classification head (got ${numLabels})`);
  }
  const d = model.config.nEmbd;
  const w: tf.Tensor2D = tf.randomNormal([numLabels, d], 0, opts.initializerRange ?? 0.02, 'float32', weightSeed(opts.seed ?? 0, 999_983));
  model.setClassificationHead(w, tf.zeros([numLabels]), opts.pooling ?? 'mean');
}
