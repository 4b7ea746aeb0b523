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
 * two classification jobs share a head only when that initialisation is the same: the base's own
 * head, or the same label count and seed. Jobs that share a head (and a sequence length) can
 * share a mixed batch; `install` puts a job's head on the model before its host step.
 */
export class ClassifierHeads {
  private readonly heads = new Map<string, Head>();
  private readonly baseLabels: number | undefined;
  private installed: string | undefined;

  constructor(private readonly model: GptModel) {
    this.baseLabels = model.config.numLabels;
    if (this.baseLabels !== undefined) {
      const key = ClassifierHeads.baseKey(this.baseLabels);
      this.heads.set(key, { weight: tf.clone(model.weight('score.weight')) as tf.Tensor2D, bias: tf.clone(model.weight('score.bias')) as tf.Tensor1D, users: 0 });
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
      head = { weight: tf.clone(this.model.weight('score.weight')) as tf.Tensor2D, bias: tf.clone(this.model.weight('score.bias')) as tf.Tensor1D, users: 0 };
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
