import { tf } from '@cola/gl';
import { initClassificationHead, type GptModel } from '@cola/model';

/** Head key of causal-LM jobs: they all share the tied LM head. */
export const LM_HEAD = 'lm';

interface Head {
  weight: tf.Tensor2D;
  bias: tf.Tensor1D;
  /** Active jobs on this head; a seeded head is freed when the last one ends. */
  users: number;
}

/**
 * The classifier heads of the jobs on one shared base model. `finetune` (re)initialises the
 * `score` head with the job's seed when the base model has no head of the job's label count, so
 * two classification jobs have the same head only when that initialisation is the same: the
 * base's own head, or the same label count and seed. `install` puts a job's head on the model
 * before its host step; in a mixed batch, the other tenants' heads are routed to their rows as a
 * `correction` (see {@link ClassifierHeads.familyOf}).
 */
export class ClassifierHeads {
  private readonly heads = new Map<string, Head>();
  private readonly baseLabels: number | undefined;
  private installed: string | undefined;

  constructor(private readonly model: GptModel) {
    this.baseLabels = model.config.numLabels;
    if (this.baseLabels !== undefined) {
      const key = ClassifierHeads.baseKey(this.baseLabels);
      this.heads.set(key, {
        weight: tf.clone(model.weight('score.weight')) as tf.Tensor2D,
        bias: tf.clone(model.weight('score.bias')) as tf.Tensor1D,
        users: 0,
      });
      this.installed = key;
    }
  }

  private static baseKey(numLabels: number): string {
    return `cls:${numLabels}:base`;
  }

  /**
   * Takes (creating on first use) the head of a classification job with `numLabels` classes and
   * shuffle/init `seed`, exactly as `finetune` would set it up, and installs it. Pair with
   * {@link release}.
   */
  acquire(numLabels: number, seed: number): string {
    const key = numLabels === this.baseLabels ? ClassifierHeads.baseKey(numLabels) : `cls:${numLabels}:seed:${seed}`;
    let head = this.heads.get(key);
    if (!head) {
      initClassificationHead(this.model, numLabels, { seed });
      head = {
        weight: tf.clone(this.model.weight('score.weight')) as tf.Tensor2D,
        bias: tf.clone(this.model.weight('score.bias')) as tf.Tensor1D,
        users: 0,
      };
      this.heads.set(key, head);
      this.installed = key;
    }
    head.users++;
    this.install(key);
    return key;
  }

  /** Drops one user of a head; a seeded head without users is freed (the base head is kept). */
  release(key: string): void {
    const head = this.heads.get(key);
    if (!head || key === LM_HEAD) return;
    head.users = Math.max(0, head.users - 1);
    if (head.users === 0 && !key.endsWith(':base')) {
      tf.dispose([head.weight, head.bias]);
      this.heads.delete(key);
    }
  }

  /** Puts a head on the model (no-op for the LM head or when it is already there). */
  install(key: string): void {
    if (key === LM_HEAD || key === this.installed) return;
    const head = this.heads.get(key);
    if (!head) throw new Error(`ClassifierHeads: no head "${key}"; acquire it first`);
    // The model takes ownership of what it is given: clones share the data, copying nothing.
    this.model.setClassificationHead(tf.clone(head.weight), tf.clone(head.bias));
    this.installed = key;
  }

  /**
   * Jobs whose heads have the same label count can still share a mixed batch: the model runs
   * with one installed head, and each other tenant's rows get the difference
   * X (W_k - W_0)^T + (b_k - b_0) added at the `score` tap, which makes their logits
   * X W_k^T + b_k. The family is what must match: the head kind and label count.
   */
  static familyOf(key: string): string {
    return key === LM_HEAD ? LM_HEAD : key.split(':').slice(0, 2).join(':');
  }

  /**
   * The difference of head `key` to head `base` in the `score` tap's [dIn, dOut] orientation,
   * for routing a tenant's own head onto its rows; new tensors, owned by the caller. Undefined
   * when the heads are the same.
   */
  correction(key: string, base: string): { dW: tf.Tensor2D; db: tf.Tensor1D } | undefined {
    if (key === base || key === LM_HEAD) return undefined;
    const h = this.heads.get(key);
    const b = this.heads.get(base);
    if (!h || !b) throw new Error(`ClassifierHeads: no head "${h ? base : key}"; acquire it first`);
    if (h.weight.shape[0] !== b.weight.shape[0])
      throw new Error(`ClassifierHeads: heads "${key}" and "${base}" have different label counts and cannot share a batch`);
    return tf.tidy(() => ({ dW: tf.transpose(tf.sub(h.weight, b.weight)) as tf.Tensor2D, db: tf.sub(h.bias, b.bias) as tf.Tensor1D }));
  }

  /** Number of heads held (the base head included). */
  get size(): number {
    return this.heads.size;
  }

  /** Frees every head this object holds (not the model's own variables). */
  dispose(): void {
    for (const h of this.heads.values()) tf.dispose([h.weight, h.bias]);
    this.heads.clear();
  }
}
