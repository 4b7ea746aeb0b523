import { tf } from '../../tf';
import { fastMatMul } from '../../ops/fast-mat-mul';
import { assertInput, createParams, disposeParams, param, type ParamSpec } from '../adapter-params';
import type { AdapterDelta, AuxAdapter, CreateAdapterOptions } from '../aux-adapter';
import { kaimingUniformBound } from '../seeded-init';
import type { MlpActivation, MlpConfig } from './mlp-config';

function activate(x: tf.Tensor2D, activation: MlpActivation): tf.Tensor2D {
  switch (activation) {
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'gelu':
      // Exact gelu, 0.5·x·(1 + erf(x/√2)), as torch's default; tfjs-core has no gelu op.
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  }
}

/**
 * g(X) = W_L(act(... act(X W_0 + b_0) ...)) + b_L. Hidden layers use torch's nn.Linear init
 * (kaiming-uniform weights, bias from the same range); the last layer is all zeros, so g = 0 at
 * start, like the other aux types, while the hidden layers already carry signal for the gradient.
 */
export class MlpAdapter implements AuxAdapter {
  readonly mergeable = false;
  readonly params: ReadonlyMap<string, tf.Variable>;
  private readonly layers: number;

  constructor(
    readonly config: MlpConfig,
    readonly dIn: number,
    readonly dOut: number,
    opts: CreateAdapterOptions = {},
  ) {
    const widths = [dIn, ...config.hidden, dOut];
    this.layers = widths.length - 1;
    const specs: ParamSpec[] = [];
    for (let i = 0; i < this.layers; i++) {
      const last = i === this.layers - 1;
      const bound = kaimingUniformBound(widths[i]!);
      specs.push(
        { name: `W${i}`, shape: [widths[i]!, widths[i + 1]!], init: last ? { kind: 'zeros' } : { kind: 'uniform', bound } },
        { name: `b${i}`, shape: [widths[i + 1]!], init: last ? { kind: 'zeros' } : { kind: 'uniform', bound } },
      );
    }
    this.params = createParams('mlp', specs, opts);
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    assertInput('mlp', x, this.dIn);
    return tf.tidy(() => {
      let h = x;
      for (let i = 0; i < this.layers; i++) {
        h = tf.add(fastMatMul(h, param<tf.Rank.R2>(this.params, `W${i}`)), param<tf.Rank.R1>(this.params, `b${i}`));
        if (i < this.layers - 1) h = activate(h, this.config.activation);
      }
      return h;
    });
  }

  delta(): AdapterDelta {
    throw new Error(
      'an mlp aux is not a weight change, so it has no delta and cannot be merged; serve it unmerged (h = X W + b + g(X)) or use a lowrank or linear aux',
    );
  }

  dispose(): number {
    return disposeParams(this.params);
  }
}
