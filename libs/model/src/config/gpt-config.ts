/**
 * Shape of a GPT-style decoder. Field names follow our camelCase convention; the JSON form on disk
 * (`config.json`) uses GPT-2's own names so a real GPT-2 `config.json` reads as-is.
 */
export interface GptConfig {
  /** Number of token ids. The tied LM head predicts one logit per id. Byte-level tokens use 258. */
  vocabSize: number;
  /** Longest sequence the learned position table covers; inputs longer than this are rejected. */
  nPositions: number;
  /** Width of the residual stream (GPT-2 small: 768). Must be divisible by `nHead`. */
  nEmbd: number;
  /** Number of transformer blocks. */
  nLayer: number;
  /** Number of attention heads per block; each head has width `nEmbd / nHead`. */
  nHead: number;
  /** Epsilon inside every LayerNorm. Default 1e-5, as in GPT-2. */
  layerNormEpsilon: number;
  /**
   * Number of classes of the sequence-classification head (`score`). Absent for a pure language
   * model; set it with `initClassificationHead` before using the `cls` head.
   */
  numLabels?: number;
  /**
   * How the `cls` head pools a row's final hidden states: 'last' (the last real token, GPT-2's
   * sequence classification) or 'mean' (the mean over the row's real tokens). Absent = 'last'.
   */
  clsPooling?: ClsPooling;
}

/** Pooling of the `cls` head: see {@link GptConfig.clsPooling}. */
export const CLS_POOLINGS = ['last', 'mean'] as const;
export type ClsPooling = (typeof CLS_POOLINGS)[number];

/** Defaults merged into every config; the architecture sizes have no sensible default. */
export const GPT_CONFIG_DEFAULTS: Pick<GptConfig, 'layerNormEpsilon'> = { layerNormEpsilon: 1e-5 };

/** GPT-2 `config.json` fields we read and write. Other fields of a real GPT-2 file are ignored. */
export interface Gpt2ConfigJson {
  model_type: 'gpt2';
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  layer_norm_epsilon: number;
  num_labels?: number;
  /** Our extension: the cls head's pooling ({@link GptConfig.clsPooling}); absent = 'last'. */
  cls_pooling?: ClsPooling;
}

const INT_FIELDS = ['vocabSize', 'nPositions', 'nEmbd', 'nLayer', 'nHead'] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Merges defaults and checks every field at once, so a bad config reports all its problems in one
 * message that says how to fix each. Accepts our camelCase form (`nEmbd`) only; use
 * {@link gptConfigFromJson} for GPT-2's snake_case JSON.
 */
export function validateGptConfig(raw: unknown): GptConfig {
  if (!isRecord(raw)) throw new Error('GptConfig must be an object like { vocabSize, nPositions, nEmbd, nLayer, nHead }');
  const merged: Record<string, unknown> = { ...GPT_CONFIG_DEFAULTS, ...raw };
  const problems: string[] = [];
  for (const f of INT_FIELDS) {
    const v = merged[f];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      problems.push(`${f} must be a positive integer (got ${JSON.stringify(v)})`);
    }
  }
  const eps = merged.layerNormEpsilon;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) {
    problems.push(`layerNormEpsilon must be a small positive number such as 1e-5 (got ${JSON.stringify(eps)})`);
  }
  const nl = merged.numLabels;
  if (nl !== undefined && (typeof nl !== 'number' || !Number.isInteger(nl) || nl < 1)) {
    problems.push(`numLabels must be a positive integer, or left out for a pure LM (got ${JSON.stringify(nl)})`);
  }
  const pool = merged.clsPooling;
  if (pool !== undefined && !(CLS_POOLINGS as readonly unknown[]).includes(pool)) {
    problems.push(`clsPooling must be one of ${CLS_POOLINGS.join(', ')}, or left out for 'last' (got ${JSON.stringify(pool)})`);
  }
  const { nEmbd, nHead } = merged;
  if (typeof nEmbd === 'number' && typeof nHead === 'number' && nHead >= 1 && nEmbd % nHead !== 0) {
    problems.push(`nEmbd (${nEmbd}) must be divisible by nHead (${nHead}); pick e.g. nHead=${largestDivisorUpTo(nEmbd, nHead)}`);
  }
  const unknownKeys = Object.keys(raw).filter(
    (k) => !(INT_FIELDS as readonly string[]).includes(k) && k !== 'layerNormEpsilon' && k !== 'numLabels' && k !== 'clsPooling',
  );
  if (unknownKeys.length) {
    problems.push(
      `unknown field(s) ${unknownKeys.join(', ')}; valid fields are ${[...INT_FIELDS, 'layerNormEpsilon', 'numLabels', 'clsPooling'].join(', ')}`,
    );
  }
  if (problems.length) throw new Error(`Invalid GptConfig: ${problems.join('; ')}`);
  const cfg: GptConfig = {
    vocabSize: merged.vocabSize as number,
    nPositions: merged.nPositions as number,
    nEmbd: merged.nEmbd as number,
    nLayer: merged.nLayer as number,
    nHead: merged.nHead as number,
    layerNormEpsilon: merged.layerNormEpsilon as number,
  };
  if (nl !== undefined) cfg.numLabels = nl as number;
  if (pool !== undefined) cfg.clsPooling = pool as ClsPooling;
  return cfg;
}

function largestDivisorUpTo(n: number, max: number): number {
  for (let k = Math.min(max, n); k >= 1; k--) if (n % k === 0) return k;
  return 1;
}

/** The GPT-2 `config.json` form of a config. */
export function gptConfigToJson(config: GptConfig): Gpt2ConfigJson {
  const json: Gpt2ConfigJson = {
    model_type: 'gpt2',
    vocab_size: config.vocabSize,
    n_positions: config.nPositions,
    n_embd: config.nEmbd,
    n_layer: config.nLayer,
    n_head: config.nHead,
    layer_norm_epsilon: config.layerNormEpsilon,
  };
  if (config.numLabels !== undefined) json.num_labels = config.numLabels;
  if (config.clsPooling !== undefined) json.cls_pooling = config.clsPooling;
  return json;
}

/**
 * Reads a GPT-2 `config.json` (ours or Hugging Face's). HF writes `num_labels` only via
 * `id2label`, so that is used as a fallback; unknown fields are ignored because real files carry
 * dozens of generation settings that do not concern the architecture.
 */
export function gptConfigFromJson(raw: unknown): GptConfig {
  if (!isRecord(raw))
    throw new Error('config.json must hold a JSON object with GPT-2 fields (vocab_size, n_positions, n_embd, n_layer, n_head)');
  if (raw.model_type !== undefined && raw.model_type !== 'gpt2') {
    throw new Error(`config.json has model_type "${String(raw.model_type)}"; only "gpt2" is supported`);
  }
  let numLabels = raw.num_labels;
  if (numLabels === undefined && isRecord(raw.id2label)) numLabels = Object.keys(raw.id2label).length;
  const camel: Record<string, unknown> = {
    vocabSize: raw.vocab_size,
    nPositions: raw.n_positions ?? raw.n_ctx,
    nEmbd: raw.n_embd,
    nLayer: raw.n_layer,
    nHead: raw.n_head,
  };
  if (raw.layer_norm_epsilon !== undefined) camel.layerNormEpsilon = raw.layer_norm_epsilon;
  if (numLabels !== undefined) camel.numLabels = numLabels;
  if (raw.cls_pooling !== undefined) camel.clsPooling = raw.cls_pooling;
  return validateGptConfig(camel);
}
