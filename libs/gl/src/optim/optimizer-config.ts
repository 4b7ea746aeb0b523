import { ConfigReader } from '../adapters/config-reader';
import { optimizerConfigError } from './optimizer-config-error';

/** AdamW with decoupled weight decay, exactly as torch.optim.AdamW (amsgrad off). */
export interface AdamWConfig {
  /** Discriminant of {@link OptimizerConfig}. */
  type: 'adamw';
  /**
   * Peak learning rate, for trainers and schedules to read; `step()` takes the rate of the current
   * step explicitly. The paper uses 3e-4.
   */
  lr: number;
  /** Decay rates of the first and second moment estimates, each in [0, 1). Default [0.9, 0.999]. */
  betas: [number, number];
  /** Added to the denominator for numerical stability, > 0. Default 1e-8. */
  eps: number;
  /** Decoupled weight decay: each step first does p -= lr · weightDecay · p. The paper uses 5e-4. */
  weightDecay: number;
}

/** SGD with optional momentum, dampening, Nesterov and (L2) weight decay, exactly as torch.optim.SGD. */
export interface SgdConfig {
  /** Discriminant of {@link OptimizerConfig}. */
  type: 'sgd';
  /** Peak learning rate, as for AdamW. Default 1e-3 (torch's). */
  lr: number;
  /** Momentum factor in [0, 1). Default 0 (plain SGD). */
  momentum: number;
  /** Dampening of the momentum in [0, 1]. Default 0. */
  dampening: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0. Default false. */
  nesterov: boolean;
  /** L2 penalty added to the gradient (g += weightDecay · p). Default 0. */
  weightDecay: number;
}

/** A validated optimizer config, defaults filled in; discriminated by `type`. */
export type OptimizerConfig = AdamWConfig | SgdConfig;

/** What a caller may pass: `type` plus any subset of that type's fields. */
export type OptimizerConfigInput =
  ({ type: 'adamw' } & Partial<Omit<AdamWConfig, 'type'>>) | ({ type: 'sgd' } & Partial<Omit<SgdConfig, 'type'>>);

export const OPTIMIZER_TYPES = ['adamw', 'sgd'] as const satisfies readonly OptimizerConfig['type'][];

/** The paper's optimizer (docs/design.md section 1). */
export const ADAMW_DEFAULTS: Readonly<AdamWConfig> = Object.freeze<AdamWConfig>({
  type: 'adamw',
  lr: 3e-4,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weightDecay: 5e-4,
});

/** torch.optim.SGD's defaults. */
export const SGD_DEFAULTS: Readonly<SgdConfig> = Object.freeze({
  type: 'sgd',
  lr: 1e-3,
  momentum: 0,
  dampening: 0,
  nesterov: false,
  weightDecay: 0,
});

const LR_RULE = { min: 0, example: 3e-4 } as const;
const DECAY_RULE = { min: 0, example: 5e-4 } as const;

function validateAdamW(r: ConfigReader): AdamWConfig {
  r.rejectUnknown(['type', 'lr', 'betas', 'eps', 'weightDecay']);
  const betas = r.numberArray('betas', ADAMW_DEFAULTS.betas, { minLength: 2, maxLength: 2, min: 0, below: 1, example: 0.9 });
  return {
    type: 'adamw',
    lr: r.number('lr', ADAMW_DEFAULTS.lr, LR_RULE),
    betas: [betas[0]!, betas[1]!],
    eps: r.number('eps', ADAMW_DEFAULTS.eps, { above: 0, example: 1e-8 }),
    weightDecay: r.number('weightDecay', ADAMW_DEFAULTS.weightDecay, DECAY_RULE),
  };
}

function validateSgd(r: ConfigReader): SgdConfig {
  r.rejectUnknown(['type', 'lr', 'momentum', 'dampening', 'nesterov', 'weightDecay']);
  const config: SgdConfig = {
    type: 'sgd',
    lr: r.number('lr', SGD_DEFAULTS.lr, LR_RULE),
    momentum: r.number('momentum', SGD_DEFAULTS.momentum, { min: 0, below: 1, example: 0.9 }),
    dampening: r.number('dampening', SGD_DEFAULTS.dampening, { min: 0, max: 1, example: 0 }),
    nesterov: r.boolean('nesterov', SGD_DEFAULTS.nesterov),
    weightDecay: r.number('weightDecay', SGD_DEFAULTS.weightDecay, DECAY_RULE),
  };
  // torch raises the same: Nesterov looks one momentum step ahead, which needs an undamped momentum.
  if (config.nesterov && (config.momentum === 0 || config.dampening !== 0)) {
    throw r.error(
      'nesterov',
      `needs momentum > 0 and dampening = 0 (got momentum ${config.momentum}, dampening ${config.dampening}); set momentum to e.g. 0.9 and dampening to 0, or nesterov to false`,
    );
  }
  return config;
}

/**
 * Validates an optimizer config (e.g. from a tenant's job request) and fills in the defaults.
 * Throws an {@link OptimizerConfigError} naming the field and how to fix it.
 */
export function validateOptimizerConfig(raw: unknown): OptimizerConfig {
  const r = ConfigReader.of(raw, 'optimizer', optimizerConfigError);
  const type = r.oneOf('type', OPTIMIZER_TYPES);
  switch (type) {
    case 'adamw':
      return validateAdamW(ConfigReader.of(raw, 'adamw', optimizerConfigError));
    case 'sgd':
      return validateSgd(ConfigReader.of(raw, 'sgd', optimizerConfigError));
  }
}
