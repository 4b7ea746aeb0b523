/** Options of {@link pretrain}; every field has a default (see {@link PRETRAIN_DEFAULTS}). */
export interface PretrainOptions {
  /** Optimizer steps. Measure a few steps first: the budget is about 20 minutes on one core. */
  steps: number;
  /** Sequences per step. */
  batch: number;
  /** Tokens (bytes) per sequence; also the model's nPositions. */
  seqLen: number;
  /** Seed of the weight init and of the window sampling. */
  seed: number;
  /** Width of the residual stream. */
  nEmbd: number;
  /** Transformer blocks. */
  nLayer: number;
  /** Attention heads; must divide nEmbd. */
  nHead: number;
  /** Peak AdamW learning rate, reached after the warmup, then decayed linearly to 0. */
  lr: number;
  /** Fraction of the steps spent in the linear warmup, in [0, 1). */
  warmupFraction: number;
  /** Decoupled weight decay of the matrices (biases and LayerNorm gains are not decayed). */
  weightDecay: number;
  /** Global gradient-norm clip. */
  clipNorm: number;
  /** Fraction at the end of each corpus held out for evaluation, in (0, 0.5]. */
  heldOutFraction: number;
  /** Held-out windows scored at the end (evenly spaced over the held-out text); caps eval time. */
  evalWindows: number;
}

export const PRETRAIN_DEFAULTS: Readonly<PretrainOptions> = Object.freeze({
  steps: 600,
  batch: 16,
  seqLen: 128,
  seed: 0,
  nEmbd: 128,
  nLayer: 4,
  nHead: 4,
  lr: 2e-3,
  warmupFraction: 0.05,
  weightDecay: 0.1,
  clipNorm: 1,
  heldOutFraction: 0.05,
  evalWindows: 512,
});

const INTEGER_FIELDS = ['steps', 'batch', 'seqLen', 'nEmbd', 'nLayer', 'nHead', 'evalWindows'] as const;

/** Merges defaults once and checks every field, reporting all problems in one message. */
export function resolvePretrainOptions(raw: Partial<PretrainOptions> = {}): PretrainOptions {
  const known = Object.keys(PRETRAIN_DEFAULTS);
  const unknown = Object.keys(raw).filter((k) => !known.includes(k));
  const o: PretrainOptions = { ...PRETRAIN_DEFAULTS, ...raw };
  const problems: string[] = [];
  if (unknown.length) problems.push(`unknown option(s) ${unknown.join(', ')}; valid: ${known.join(', ')}`);
  for (const f of INTEGER_FIELDS) if (!Number.isInteger(o[f]) || o[f] < 1) problems.push(`${f} must be a positive integer (got ${o[f]})`);
  if (!Number.isInteger(o.seed) || o.seed < 0) problems.push(`seed must be an integer >= 0 (got ${o.seed})`);
  if (o.seqLen < 2) problems.push('seqLen must be at least 2 (one token predicts the next)');
  if (o.nEmbd % o.nHead !== 0) problems.push(`nHead (${o.nHead}) must divide nEmbd (${o.nEmbd})`);
  if (!(o.lr > 0)) problems.push(`lr must be > 0 (got ${o.lr}), e.g. 2e-3`);
  if (!(o.warmupFraction >= 0 && o.warmupFraction < 1)) problems.push(`warmupFraction must be in [0, 1) (got ${o.warmupFraction})`);
  if (!(o.weightDecay >= 0)) problems.push(`weightDecay must be >= 0 (got ${o.weightDecay})`);
  if (!(o.clipNorm > 0)) problems.push(`clipNorm must be > 0 (got ${o.clipNorm})`);
  if (!(o.heldOutFraction > 0 && o.heldOutFraction <= 0.5)) problems.push(`heldOutFraction must be in (0, 0.5] (got ${o.heldOutFraction})`);
  if (problems.length) throw new Error(`Invalid pretraining options: ${problems.join('; ')}`);
  return o;
}
