import { tf } from '../../tf';
import type { AuxTypeDefinition } from '../aux-type';
import { LinearAdapter } from './linear-adapter';
import { validateLinearConfig, type LinearConfig } from './linear-config';

/** linear: g(X) = X V (+ b), a full-rank weight change. */
export const linearAuxType: AuxTypeDefinition<LinearConfig> = {
  type: 'linear',
  validate: validateLinearConfig,
  create: (config, dIn, dOut, opts) => new LinearAdapter(config, dIn, dOut, opts),
  mergeable: () => true,
  gram: {
    blocker: () => undefined,
    // dV = S = X^T G, db = colsum(G).
    gradients: (_adapter, config, { xtg, colsumG }): Record<string, tf.Tensor> =>
      config.bias ? { V: tf.clone(xtg), b: tf.clone(colsumG) } : { V: tf.clone(xtg) },
  },
};
