import { tf } from '../../tf';
import { fastMatMul } from '../../ops/fast-mat-mul';
import { assertInput, createParams, disposeParams, param } from '../adapter-params';
import type { AdapterDelta, AuxAdapter, CreateAdapterOptions } from '../aux-adapter';
import type { LinearConfig } from './linear-config';

/** g(X) = X V (+ b) with V [dIn, dOut] and b [dOut] both zero-initialised (g = 0 at start). */
export class LinearAdapter implements AuxAdapter {
  readonly mergeable = true;
  readonly params: ReadonlyMap<string, tf.Variable>;

  constructor(
    readonly config: LinearConfig,
    readonly dIn: number,
    readonly dOut: number,
    opts: CreateAdapterOptions = {},
  ) {
    this.params = createParams(
      'linear',
      [
        { name: 'V', shape: [dIn, dOut], init: { kind: 'zeros' } },
        ...(config.bias ? [{ name: 'b', shape: [dOut], init: { kind: 'zeros' as const } }] : []),
      ],
      opts,
    );
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    assertInput('linear', x, this.dIn);
    return tf.tidy((): tf.Tensor2D => {
      const out = fastMatMul<tf.Tensor2D>(x, param<tf.Rank.R2>(this.params, 'V'));
      return this.config.bias ? tf.add<tf.Tensor2D>(out, param<tf.Rank.R1>(this.params, 'b')) : out;
    });
  }

  delta(): AdapterDelta {
    // Clones, so the caller may dispose the delta without touching the live parameters.
    const dW = tf.clone(param<tf.Rank.R2>(this.params, 'V'));
    return this.config.bias ? { dW, db: tf.clone(param<tf.Rank.R1>(this.params, 'b')) } : { dW };
  }

  dispose(): number {
    return disposeParams(this.params);
  }
}
