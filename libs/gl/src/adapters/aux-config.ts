import { auxConfigError } from './aux-config-error';
import { auxTypeOf, registeredAuxTypes } from './aux-registry';
import { ConfigReader } from './config-reader';
import type { LinearConfig, LinearConfigInput } from './linear/linear-config';
import type { LowRankConfig, LowRankConfigInput } from './lowrank/lowrank-config';
import type { MlpConfig, MlpConfigInput } from './mlp/mlp-config';

export { AUX_TYPES, type AuxType } from './aux-registry';

/**
 * A validated aux config of a built-in type, defaults filled in; discriminated by `type`. A type
 * added with `registerAuxType` travels through the same calls with its own config shape.
 */
export type AuxConfig = LowRankConfig | LinearConfig | MlpConfig;

/** What a caller may pass: `type` plus any subset of that type's fields. */
export type AuxConfigInput = LowRankConfigInput | LinearConfigInput | MlpConfigInput;

/**
 * Validates any aux config (e.g. parsed from a tenant's job request) and fills in the defaults,
 * through the registered definition of its type. Throws an {@link AuxConfigError} whose `field`
 * and message name what is wrong and how to fix it.
 */
export function validateAuxConfig(raw: unknown): AuxConfig {
  const type = ConfigReader.of(raw, 'aux', auxConfigError).oneOf('type', registeredAuxTypes());
  return auxTypeOf(type).validate(raw) as AuxConfig;
}

/**
 * True when the aux stands for a weight change dW (and db), so it can be merged into W and
 * averaged with others in a collaborative merge group: linear and lowrank, not mlp.
 */
export function isMergeable(config: { readonly type: string }): boolean {
  return auxTypeOf(config.type).mergeable(config);
}

/**
 * True when the worker can fit from the gram (X^T G, colsum G) instead of the raw (X, G): the
 * gradient of a linear or a dropout-free lowrank aux depends on X and G only through X^T G.
 */
export function supportsGram(config: { readonly type: string }): boolean {
  return gramBlocker(config) === undefined;
}

/** Why a config cannot be fitted from gram data, or `undefined` when it can. */
export function gramBlocker(config: { readonly type: string }): string | undefined {
  const { gram } = auxTypeOf(config.type);
  if (!gram)
    return `an ${config.type} aux cannot be fitted from gram data (its gradient needs X and G themselves); send raw adaptation data for this layer`;
  return gram.blocker(config);
}
