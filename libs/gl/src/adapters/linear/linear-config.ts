import { auxConfigError } from '../aux-config-error';
import { ConfigReader } from '../config-reader';

/** Linear aux g(X) = X V (+ b): a full-rank weight change (docs/design.md section 1). */
export interface LinearConfig {
  /** Discriminant of {@link AuxConfig}. */
  type: 'linear';
  /** Also learn a bias b [dOut]. The paper uses it on the classifier head only. Default false. */
  bias: boolean;
}

/** What a caller may pass: only `type` is required, the rest falls back to {@link LINEAR_DEFAULTS}. */
export type LinearConfigInput = { type: 'linear' } & Partial<Omit<LinearConfig, 'type'>>;

/** The paper's defaults. */
export const LINEAR_DEFAULTS: Readonly<LinearConfig> = { type: 'linear', bias: false };

const FIELDS = ['type', 'bias'] as const;

/** Validates a linear config and fills in defaults; throws an `AuxConfigError` naming the field. */
export function validateLinearConfig(raw: unknown): LinearConfig {
  const r = ConfigReader.of(raw, 'linear', auxConfigError);
  r.rejectUnknown(FIELDS);
  return { type: 'linear', bias: r.boolean('bias', LINEAR_DEFAULTS.bias) };
}
