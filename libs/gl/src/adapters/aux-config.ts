import { auxConfigError } from './aux-config-error';
import { ConfigReader } from './config-reader';
import { validateLinearConfig, type LinearConfig, type LinearConfigInput } from './linear/linear-config';
import { validateLowRankConfig, type LowRankConfig, type LowRankConfigInput } from './lowrank/lowrank-config';
import { validateMlpConfig, type MlpConfig, type MlpConfigInput } from './mlp/mlp-config';

/** A validated aux config, defaults filled in; discriminated by `type`. */
export type AuxConfig = LowRankConfig | LinearConfig | MlpConfig;

/** What a caller may pass: `type` plus any subset of that type's fields. */
export type AuxConfigInput = LowRankConfigInput | LinearConfigInput | MlpConfigInput;

/** Every aux type, for messages and CLIs. */
export const AUX_TYPES = ['lowrank', 'linear', 'mlp'] as const satisfies readonly AuxConfig['type'][];
export type AuxType = (typeof AUX_TYPES)[number];

/**
 * Validates any aux config (e.g. parsed from a tenant's job request) and fills in the defaults.
 * Throws an {@link AuxConfigError} whose `field` and message name what is wrong and how to fix it.
 */
export function validateAuxConfig(raw: unknown): AuxConfig {
  const type = ConfigReader.of(raw, 'aux', auxConfigError).oneOf('type', AUX_TYPES);
  switch (type) {
    case 'lowrank':
      return validateLowRankConfig(raw);
    case 'linear':
      return validateLinearConfig(raw);
    case 'mlp':
      return validateMlpConfig(raw);
  }
}

/**
 * True when the aux stands for a weight change dW (and db), so it can be merged into W and
 * averaged with others in a collaborative merge group: linear and lowrank, not mlp.
 */
export function isMergeable(config: AuxConfig): boolean {
  switch (config.type) {
    case 'linear':
    case 'lowrank':
      return true;
    case 'mlp':
      return false;
  }
}

/**
 * True when the worker can fit from the gram (X^T G, colsum G) instead of the raw (X, G): the
 * gradient of a linear or a dropout-free lowrank aux depends on X and G only through X^T G.
 */
export function supportsGram(config: AuxConfig): boolean {
  switch (config.type) {
    case 'linear':
      return true;
    case 'lowrank':
      return config.dropout === 0;
    case 'mlp':
      return false;
  }
}
