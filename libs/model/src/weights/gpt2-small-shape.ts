import type { GptConfig } from '../config/gpt-config';
import { initGptModel } from './gpt-init';
import type { GptModel } from './gpt-model';

/**
 * GPT-2 small's shape (width 768, 12 layers, 12 heads) with a context of 128 and the project's
 * byte-level vocabulary (258), for benches that show how host memory, time and transfer sizes
 * scale with width. Never trained: its weights are seeded random (see {@link seededGpt2Small}).
 */
export const GPT2_SMALL_SHAPE: GptConfig = {
  vocabSize: 258,
  nPositions: 128,
  nEmbd: 768,
  nLayer: 12,
  nHead: 12,
  layerNormEpsilon: 1e-5,
};

/** A GPT-2-small-shaped model with GPT-2's initialisation from `seed` (bit-identical per seed). */
export function seededGpt2Small(seed = 0, nPositions = GPT2_SMALL_SHAPE.nPositions): GptModel {
  return initGptModel({ ...GPT2_SMALL_SHAPE, nPositions }, { seed });
}
