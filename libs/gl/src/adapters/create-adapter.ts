import type { AuxAdapter, CreateAdapterOptions } from './aux-adapter';
import { validateAuxConfig, type AuxConfigInput } from './aux-config';
import { LinearAdapter } from './linear/linear-adapter';
import { LowRankAdapter } from './lowrank/lowrank-adapter';
import { MlpAdapter } from './mlp/mlp-adapter';

function assertWidth(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`createAdapter: ${name} must be a positive integer (the adapted layer's width), got ${v}`);
}

/**
 * Builds the aux adapter for one adapted layer [dIn → dOut]. The config is validated (and its
 * defaults filled in) here, so `createAdapter({ type: 'lowrank' }, 768, 768)` is enough. The same
 * seed gives bit-identical initial weights.
 */
export function createAdapter(config: AuxConfigInput, dIn: number, dOut: number, opts: CreateAdapterOptions = {}): AuxAdapter {
  assertWidth('dIn', dIn);
  assertWidth('dOut', dOut);
  const valid = validateAuxConfig(config);
  switch (valid.type) {
    case 'lowrank':
      return new LowRankAdapter(valid, dIn, dOut, opts);
    case 'linear':
      return new LinearAdapter(valid, dIn, dOut, opts);
    case 'mlp':
      return new MlpAdapter(valid, dIn, dOut, opts);
  }
}
