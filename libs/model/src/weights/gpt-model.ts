import { tf } from '@cola/gl';
import { validateGptConfig, type ClsPooling, type GptConfig } from '../config/gpt-config';
import { gptWeightShapes } from './gpt-weight-names';

/** Options for {@link GptModel}. */
export interface GptModelOptions {
  /**
   * Whether the weights are trainable tf.Variables. Default false: the base model of ColA is
   * frozen, and a non-trainable variable can never be picked up by accident by a
   * `tf.variableGrads(f)` call that lists no variables (it differentiates every trainable one).
   * Pretraining turns this on.
   */
  trainable?: boolean;
}

let nextModelId = 0;

/**
 * A GPT-style decoder's configuration and weights, keyed by GPT-2 tensor name. The weights are
 * tf.Variables so pretraining can update them in place; the compute lives in `forward`.
 */
export class GptModel {
  private cfg: GptConfig;
  private readonly vars = new Map<string, tf.Variable>();
  private readonly id = nextModelId++;
  private isTrainable: boolean;

  /**
   * Takes ownership of `weights` (they are copied into variables and disposed). Every tensor the
   * config requires must be present with its exact shape; extra names are rejected so a typo in a
   * checkpoint never silently leaves a weight at its initial value.
   */
  constructor(config: GptConfig, weights: Map<string, tf.Tensor>, opts: GptModelOptions = {}) {
    this.cfg = validateGptConfig(config);
    this.isTrainable = opts.trainable ?? false;
    const expected = gptWeightShapes(this.cfg);
    const problems: string[] = [];
    for (const [name, shape] of expected) {
      const t = weights.get(name);
      if (!t) problems.push(`missing ${name} [${shape}]`);
      else if (!sameShape(t.shape, shape)) problems.push(`${name} has shape [${t.shape}], expected [${shape}]`);
    }
    for (const name of weights.keys()) if (!expected.has(name)) problems.push(`unexpected tensor ${name}`);
    if (problems.length) {
      for (const t of weights.values()) t.dispose();
      throw new Error(`GPT weights do not match the config: ${problems.join('; ')}`);
    }
    for (const [name, t] of weights) this.setVar(name, t);
  }

  /** The validated configuration (a copy; use `setClassificationHead` to change numLabels). */
  get config(): GptConfig {
    return { ...this.cfg };
  }

  get trainable(): boolean {
    return this.isTrainable;
  }

  /** Switches every weight between trainable (pretraining) and frozen (serving, host step). */
  set trainable(on: boolean) {
    this.isTrainable = on;
    for (const v of this.vars.values()) v.trainable = on;
  }

  /** The weight called `name` (GPT-2 naming, e.g. `h.0.attn.c_attn.weight`). */
  weight(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`GptModel has no weight "${name}"${name.startsWith('score.') ? '; call initClassificationHead first' : ''}`);
    return v;
  }

  /** True when a weight of that name exists (e.g. `score.weight` after a head was added). */
  has(name: string): boolean {
    return this.vars.has(name);
  }

  /** Weight names in GPT-2 order. */
  names(): string[] {
    return [...this.vars.keys()];
  }

  /** The variables, in the order of {@link names}; pass these to `tf.variableGrads` when pretraining. */
  variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Total number of scalar parameters. */
  parameterCount(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /**
   * Installs (or replaces) the sequence-classification head. Takes ownership of both tensors.
   * `weight` is [numLabels, nEmbd] (HF nn.Linear layout), `bias` is [numLabels].
   */
  setClassificationHead(weight: tf.Tensor2D, bias: tf.Tensor1D, pooling?: ClsPooling): void {
    const [numLabels, d] = weight.shape;
    if (d !== this.cfg.nEmbd || bias.shape[0] !== numLabels) {
      const msg = `score head shapes [${weight.shape}] and [${bias.shape}] do not fit nEmbd=${this.cfg.nEmbd}; expected [numLabels, ${this.cfg.nEmbd}] and [numLabels]`;
      weight.dispose();
      bias.dispose();
      throw new Error(msg);
    }
    this.vars.get('score.weight')?.dispose();
    this.vars.get('score.bias')?.dispose();
    this.setVar('score.weight', weight);
    this.setVar('score.bias', bias);
    this.cfg = { ...this.cfg, numLabels, ...(pooling ? { clsPooling: pooling } : {}) };
  }

  /** Frees every weight; returns how many tensors were freed. */
  dispose(): number {
    const n = this.vars.size;
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    return n;
  }

  private setVar(name: string, t: tf.Tensor): void {
    // Variable names are global in the tfjs engine; the model id keeps two loaded models apart.
    // tf.variable's own dtype argument uses a chained op (unregistered here), so cast first.
    const f32 = t.dtype === 'float32' ? t : tf.cast(t, 'float32');
    const v = tf.variable(f32, this.isTrainable, `gpt${this.id}/${name}`);
    t.dispose();
    f32.dispose();
    this.vars.set(name, v);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
