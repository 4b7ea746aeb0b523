import { tf } from '../../tf';
import { assertInput, createParams, disposeParams, param } from '../adapter-params';
import type { AdapterDelta, AuxAdapter, CreateAdapterOptions } from '../aux-adapter';
import { auxConfigError } from '../aux-config-error';
import type { AuxTypeDefinition } from '../aux-type';
import { ConfigReader } from '../config-reader';

/**
 * TEST SUPPORT: the smallest aux type, g(X) = c (a learned bias [dOut]). The registry test adds
 * it to prove that a new type is this one folder plus one `registerAuxType` call.
 */
export interface BiasConfig {
  type: 'bias';
}

class BiasAdapter implements AuxAdapter {
  readonly mergeable = true;
  readonly params: ReadonlyMap<string, tf.Variable>;

  constructor(
    readonly config: BiasConfig,
    readonly dIn: number,
    readonly dOut: number,
    opts: CreateAdapterOptions,
  ) {
    this.params = createParams('bias', [{ name: 'c', shape: [dOut], init: { kind: 'zeros' } }], opts);
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    assertInput('bias', x, this.dIn);
    return tf.tidy(() => tf.add<tf.Tensor2D>(tf.zeros([x.shape[0], this.dOut]), param<tf.Rank.R1>(this.params, 'c')));
  }

  delta(): AdapterDelta {
    return { dW: tf.zeros([this.dIn, this.dOut]), db: tf.clone(param<tf.Rank.R1>(this.params, 'c')) };
  }

  dispose(): number {
    return disposeParams(this.params);
  }
}

/** The bias aux type: mergeable (dW = 0, db = c) and fitted from the gram (dc = colsum G). */
export const biasAuxType: AuxTypeDefinition<BiasConfig> = {
  type: 'bias',
  validate: (raw) => {
    ConfigReader.of(raw, 'bias', auxConfigError).rejectUnknown(['type']);
    return { type: 'bias' };
  },
  create: (config, dIn, dOut, opts) => new BiasAdapter(config, dIn, dOut, opts),
  mergeable: () => true,
  gram: { blocker: () => undefined, gradients: (_adapter, _config, { colsumG }) => ({ c: tf.clone(colsumG) }) },
};
