import { tf } from '../../tf';
import { fastMatMul } from '../../ops/fast-mat-mul';
import { assertInput, createParams, disposeParams, param } from '../adapter-params';
import type { AdapterDelta, AuxAdapter, CreateAdapterOptions, ForwardOptions } from '../aux-adapter';
import { kaimingUniformBound } from '../seeded-init';
import type { LowRankConfig } from './lowrank-config';

/**
 * g(X) = s · dropout(X) A B with A [dIn, r] kaiming-uniform and B [r, dOut] zeros, so the adapter
 * starts as the identity change (g = 0) exactly like LoRA.
 */
export class LowRankAdapter implements AuxAdapter {
  readonly mergeable = true;
  readonly params: ReadonlyMap<string, tf.Variable>;

  constructor(
    readonly config: LowRankConfig,
    readonly dIn: number,
    readonly dOut: number,
    opts: CreateAdapterOptions = {},
  ) {
    this.params = createParams(
      'lowrank',
      [
        { name: 'A', shape: [dIn, config.rank], init: { kind: 'uniform', bound: kaimingUniformBound(dIn) } },
        { name: 'B', shape: [config.rank, dOut], init: { kind: 'zeros' } },
      ],
      opts,
    );
  }

  get A(): tf.Variable<tf.Rank.R2> {
    return param(this.params, 'A');
  }

  get B(): tf.Variable<tf.Rank.R2> {
    return param(this.params, 'B');
  }

  forward(x: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    assertInput('lowrank', x, this.dIn);
    return tf.tidy((): tf.Tensor2D => {
      const { dropout, scale } = this.config;
      const xd = opts.training && dropout > 0 ? tf.dropout(x, dropout, undefined, opts.dropoutSeed) : x;
      // (X A) B costs N·r·(dIn + dOut); X (A B) would cost dIn·dOut·(N + r).
      const out = fastMatMul<tf.Tensor2D>(fastMatMul(xd as tf.Tensor2D, this.A), this.B);
      return scale === 1 ? out : tf.mul<tf.Tensor2D>(out, scale);
    });
  }

  delta(): AdapterDelta {
    return {
      dW: tf.tidy((): tf.Tensor2D => {
        const ab = tf.matMul<tf.Tensor2D>(this.A, this.B);
        return this.config.scale === 1 ? ab : tf.mul<tf.Tensor2D>(ab, this.config.scale);
      }),
    };
  }

  dispose(): number {
    return disposeParams(this.params);
  }
}
