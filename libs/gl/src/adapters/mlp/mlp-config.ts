import { auxConfigError } from '../aux-config-error';
import { ConfigReader } from '../config-reader';

/** Activations an mlp aux may use between its layers. gelu is the exact (erf) form, as torch's. */
export const MLP_ACTIVATIONS = ['relu', 'gelu', 'tanh'] as const;
export type MlpActivation = (typeof MLP_ACTIVATIONS)[number];

/** MLP aux: 2 or 3 dense layers, the last one zero-initialised (docs/design.md section 1). Not mergeable. */
export interface MlpConfig {
  /** Discriminant of {@link AuxConfig}. */
  type: 'mlp';
  /**
   * Widths of the 1 or 2 hidden layers (so 2 or 3 layers in all). The paper uses [128, 256].
   */
  hidden: number[];
  /** Non-linearity after each hidden layer. The paper uses relu. */
  activation: MlpActivation;
}

/** What a caller may pass: only `type` is required, the rest falls back to {@link MLP_DEFAULTS}. */
export type MlpConfigInput = { type: 'mlp' } & Partial<Omit<MlpConfig, 'type'>>;

/** The paper's defaults. */
export const MLP_DEFAULTS: Readonly<MlpConfig> = Object.freeze({ type: 'mlp', hidden: [128, 256], activation: 'relu' });

const FIELDS = ['type', 'hidden', 'activation'] as const;

/** Validates an mlp config and fills in defaults; throws an `AuxConfigError` naming the field. */
export function validateMlpConfig(raw: unknown): MlpConfig {
  const r = ConfigReader.of(raw, 'mlp', auxConfigError);
  r.rejectUnknown(FIELDS);
  return {
    type: 'mlp',
    hidden: r.numberArray('hidden', MLP_DEFAULTS.hidden, { minLength: 1, maxLength: 2, integer: true, min: 1, example: 128 }),
    activation: r.oneOf('activation', MLP_ACTIVATIONS, MLP_DEFAULTS.activation),
  };
}
