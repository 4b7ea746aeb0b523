import { AUX_TYPES, validateAuxConfig, validateOptimizerConfig, type AuxConfig, type AuxTypeConfig, type OptimizerConfig } from '@cola/gl';
import type { AuxConfig as WireAuxConfig, OptimizerConfig as WireOptimizerConfig } from '@cola/proto';

/**
 * gl's aux config → its cola.v1 message. The wire's AuxConfig is a protobuf oneof, so it lists
 * the built-in types; a type registered only in one process has no wire form and is refused here.
 */
export function auxConfigToWire(config: AuxTypeConfig): WireAuxConfig {
  const c = config as AuxConfig;
  switch (c.type) {
    case 'lowrank':
      return { kind: { $case: 'lowrank', value: { rank: c.rank, scale: c.scale, dropout: c.dropout } } };
    case 'linear':
      return { kind: { $case: 'linear', value: { bias: c.bias } } };
    case 'mlp':
      return { kind: { $case: 'mlp', value: { hidden: [...c.hidden], activation: c.activation } } };
    default:
      throw new Error(`aux type "${config.type}" has no cola.v1 wire form (the AuxConfig message knows ${AUX_TYPES.join(', ')})`);
  }
}

/** cola.v1 aux config → gl's, validated (a message from the wire is untrusted input). */
export function auxConfigFromWire(w: WireAuxConfig | undefined): AuxConfig {
  const k = w?.kind;
  if (!k) throw new Error('aux config is missing its kind (lowrank, linear or mlp)');
  switch (k.$case) {
    case 'lowrank':
      return validateAuxConfig({ type: 'lowrank', ...k.value });
    case 'linear':
      return validateAuxConfig({ type: 'linear', ...k.value });
    case 'mlp':
      return validateAuxConfig({ type: 'mlp', hidden: k.value.hidden, activation: k.value.activation || undefined });
  }
}

/** gl's optimizer config → its cola.v1 message. */
export function optimizerConfigToWire(c: OptimizerConfig): WireOptimizerConfig {
  if (c.type === 'adamw') {
    return { kind: { $case: 'adamw', value: { lr: c.lr, beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, weightDecay: c.weightDecay } } };
  }
  // The wire message has no dampening: torch's default 0 is the only value we ship.
  if (c.dampening !== 0) throw new Error(`SGD dampening ${c.dampening} cannot be shipped; only 0 is supported across services`);
  return { kind: { $case: 'sgd', value: { lr: c.lr, momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay } } };
}

/** cola.v1 optimizer config → gl's, validated. */
export function optimizerConfigFromWire(w: WireOptimizerConfig | undefined): OptimizerConfig {
  const k = w?.kind;
  if (!k) throw new Error('optimizer config is missing its kind (adamw or sgd)');
  if (k.$case === 'adamw') {
    const v = k.value;
    return validateOptimizerConfig({ type: 'adamw', lr: v.lr, betas: [v.beta1, v.beta2], eps: v.eps, weightDecay: v.weightDecay });
  }
  const v = k.value;
  return validateOptimizerConfig({ type: 'sgd', lr: v.lr, momentum: v.momentum, nesterov: v.nesterov, weightDecay: v.weightDecay });
}
