import type { AuxTypeDefinition } from '../aux-type';
import { MlpAdapter } from './mlp-adapter';
import { validateMlpConfig, type MlpConfig } from './mlp-config';

/** mlp: a small MLP g(X); not a weight change, so served unmerged and fitted from raw data only. */
export const mlpAuxType: AuxTypeDefinition<MlpConfig> = {
  type: 'mlp',
  validate: validateMlpConfig,
  create: (config, dIn, dOut, opts) => new MlpAdapter(config, dIn, dOut, opts),
  mergeable: () => false,
};
