import type { AuxAdapter, CreateAdapterOptions } from './aux-adapter';
import { validateAuxConfig, type AuxConfigInput } from './aux-config';
import { auxTypeOf } from './aux-registry';
import type { AuxTypeConfig } from './aux-type';

function assertWidth(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`createAdapter: ${name} must be a positive integer (the adapted layer's width), got ${v}`);
}

/**
 * Builds the aux adapter for one adapted layer [dIn → dOut] through the registered definition of
 * its type. The config is validated (and its defaults filled in) here, so
 * `createAdapter({ type: 'lowrank' }, 768, 768)` is enough. The same seed gives bit-identical
 * initial weights.
 */
export function createAdapter(
  config: AuxConfigInput | AuxTypeConfig,
  dIn: number,
  dOut: number,
  opts: CreateAdapterOptions = {},
): AuxAdapter {
  assertWidth('dIn', dIn);
  assertWidth('dOut', dOut);
  const valid = validateAuxConfig(config);
  return auxTypeOf(valid.type).create(valid, dIn, dOut, opts);
}
