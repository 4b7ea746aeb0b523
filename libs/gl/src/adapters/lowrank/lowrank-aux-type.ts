import { tf } from '../../tf';
import { param } from '../adapter-params';
import type { AuxTypeDefinition } from '../aux-type';
import { LowRankAdapter } from './lowrank-adapter';
import { validateLowRankConfig, type LowRankConfig } from './lowrank-config';

/** lowrank: g(X) = s · dropout(X) A B, a rank-r weight change (LoRA's form). */
export const lowrankAuxType: AuxTypeDefinition<LowRankConfig> = {
  type: 'lowrank',
  validate: validateLowRankConfig,
  create: (config, dIn, dOut, opts) => new LowRankAdapter(config, dIn, dOut, opts),
  mergeable: () => true,
  gram: {
    blocker: (config) =>
      config.dropout === 0
        ? undefined
        : 'a lowrank aux with dropout cannot be fitted from gram data (the dropout mask acts on X row by row); send raw adaptation data or set dropout to 0',
    // dA = s · S B^T, dB = s · A^T S with S = X^T G.
    gradients: (adapter, config, { xtg }) => {
      const A = param<tf.Rank.R2>(adapter.params, 'A');
      const B = param<tf.Rank.R2>(adapter.params, 'B');
      const s = config.scale;
      return { A: tf.mul(tf.matMul(xtg, B, false, true), s), B: tf.mul(tf.matMul(A, xtg, true, false), s) };
    },
  },
};
