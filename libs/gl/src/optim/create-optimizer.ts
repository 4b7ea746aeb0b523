import { AdamWOptimizer } from './adamw-optimizer';
import type { Optimizer } from './optimizer';
import { validateOptimizerConfig, type OptimizerConfigInput } from './optimizer-config';
import { SgdOptimizer } from './sgd-optimizer';

/** Builds an optimizer; the config is validated and its defaults filled in here. */
export function createOptimizer(config: OptimizerConfigInput): Optimizer {
  const valid = validateOptimizerConfig(config);
  switch (valid.type) {
    case 'adamw':
      return new AdamWOptimizer(valid);
    case 'sgd':
      return new SgdOptimizer(valid);
  }
}
