import { auxConfigError } from '../aux-config-error';
import { ConfigReader } from '../config-reader';

/** Low-rank aux g(X) = scale · dropout(X) A B, the LoRA form (docs/design.md section 1). */
export interface LowRankConfig {
  /** Discriminant of {@link AuxConfig}. */
  type: 'lowrank';
  /** Rank r of A [dIn, r] and B [r, dOut]. The paper and its LoRA baseline use 8. */
  rank: number;
  /**
   * The factor s in s · X A B (LoRA's alpha / r). The paper uses 1 (alpha = r = 8). Must be > 0:
   * a zero or negative scale would freeze or mirror the update.
   */
  scale: number;
  /**
   * Dropout rate on X while fitting, in [0, 1). 0 (the default) keeps the GL gradient exact and
   * allows gram transfer; any other rate needs the raw (X, G) and matching dropout seeds.
   */
  dropout: number;
}

/** What a caller may pass: only `type` is required, the rest falls back to {@link LOWRANK_DEFAULTS}. */
export type LowRankConfigInput = { type: 'lowrank' } & Partial<Omit<LowRankConfig, 'type'>>;

/** The paper's defaults. */
export const LOWRANK_DEFAULTS: Readonly<LowRankConfig> = { type: 'lowrank', rank: 8, scale: 1, dropout: 0 };

const FIELDS = ['type', 'rank', 'scale', 'dropout'] as const;

/** Validates a lowrank config and fills in defaults; throws an `AuxConfigError` naming the field. */
export function validateLowRankConfig(raw: unknown): LowRankConfig {
  const r = ConfigReader.of(raw, 'lowrank', auxConfigError);
  r.rejectUnknown(FIELDS);
  return {
    type: 'lowrank',
    rank: r.number('rank', LOWRANK_DEFAULTS.rank, { integer: true, min: 1, example: 8 }),
    scale: r.number('scale', LOWRANK_DEFAULTS.scale, { above: 0, example: 1 }),
    dropout: r.number('dropout', LOWRANK_DEFAULTS.dropout, { min: 0, below: 1, example: 0.05 }),
  };
}
