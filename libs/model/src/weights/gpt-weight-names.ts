import type { GptConfig } from '../config/gpt-config';

/**
 * GPT-2 tensor names and shapes. Linear weights inside the blocks use GPT-2's Conv1D layout
 * [in, out], so `X W` needs no transpose; the classification head `score.weight` uses Hugging
 * Face's nn.Linear layout [out, in], exactly as a GPT2ForSequenceClassification file stores it.
 */
export function gptWeightShapes(config: GptConfig): Map<string, number[]> {
  const d = config.nEmbd;
  const shapes = new Map<string, number[]>();
  shapes.set('wte.weight', [config.vocabSize, d]);
  shapes.set('wpe.weight', [config.nPositions, d]);
  for (let i = 0; i < config.nLayer; i++) {
    const p = `h.${i}.`;
    shapes.set(`${p}ln_1.weight`, [d]);
    shapes.set(`${p}ln_1.bias`, [d]);
    shapes.set(`${p}attn.c_attn.weight`, [d, 3 * d]);
    shapes.set(`${p}attn.c_attn.bias`, [3 * d]);
    shapes.set(`${p}attn.c_proj.weight`, [d, d]);
    shapes.set(`${p}attn.c_proj.bias`, [d]);
    shapes.set(`${p}ln_2.weight`, [d]);
    shapes.set(`${p}ln_2.bias`, [d]);
    shapes.set(`${p}mlp.c_fc.weight`, [d, 4 * d]);
    shapes.set(`${p}mlp.c_fc.bias`, [4 * d]);
    shapes.set(`${p}mlp.c_proj.weight`, [4 * d, d]);
    shapes.set(`${p}mlp.c_proj.bias`, [d]);
  }
  shapes.set('ln_f.weight', [d]);
  shapes.set('ln_f.bias', [d]);
  if (config.numLabels !== undefined) {
    shapes.set('score.weight', [config.numLabels, d]);
    shapes.set('score.bias', [config.numLabels]);
  }
  return shapes;
}

/** True for the residual output projections that GPT-2 initialises with a 1/sqrt(2 nLayer) scale. */
export function isResidualProjection(name: string): boolean {
  return /^h\.\d+\.(attn|mlp)\.c_proj\.weight$/.test(name);
}
