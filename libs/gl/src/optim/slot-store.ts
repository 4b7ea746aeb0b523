import { tf } from '../tf';
import { assertPlainTensor, sameShape, toPlainTensor, type PlainTensor } from '../state/plain-tensor';

/**
 * An optimizer's per-parameter state tensors (moments, momentum buffers), keyed
 * `<param>.<slot>` like torch's state dict entries. Slots are non-trainable variables updated with
 * `assign`, so a step replaces their data without changing their identity.
 */
export class SlotStore {
  private readonly slots = new Map<string, tf.Variable>();

  constructor(
    /** Names the optimizer in error messages. */
    private readonly owner: string,
    /** The slot names this optimizer keeps per parameter, e.g. ['exp_avg', 'exp_avg_sq']. */
    private readonly slotNames: readonly string[],
  ) {}

  private static key(param: string, slot: string): string {
    return `${param}.${slot}`;
  }

  get(param: string, slot: string): tf.Variable | undefined {
    return this.slots.get(SlotStore.key(param, slot));
  }

  /**
   * The slot for `param`, checked against its shape; created from `init()` when absent. Imported
   * slots of another shape mean the state belongs to another adapter: fail instead of broadcasting.
   */
  getOrCreate(param: string, slot: string, shape: readonly number[], init: () => tf.Tensor): tf.Variable {
    const key = SlotStore.key(param, slot);
    const existing = this.slots.get(key);
    if (existing) {
      if (!sameShape(existing.shape, shape)) {
        throw new Error(
          `${this.owner}: slot "${key}" has shape [${existing.shape.join(', ')}] but parameter "${param}" has [${shape.join(', ')}]; the optimizer state belongs to another adapter`,
        );
      }
      return existing;
    }
    const initial = init();
    const v = tf.variable(initial, false);
    // The variable holds its own reference to the data; drop ours so nothing leaks outside a tidy.
    initial.dispose();
    this.slots.set(key, v);
    return v;
  }

  export(): Record<string, PlainTensor> {
    const out: Record<string, PlainTensor> = {};
    for (const [key, v] of this.slots) out[key] = toPlainTensor(v);
    return out;
  }

  /** Replaces every slot with the given values (checked first, so a bad input changes nothing). */
  import(slots: Readonly<Record<string, PlainTensor>>): void {
    for (const [key, p] of Object.entries(slots)) {
      const dot = key.lastIndexOf('.');
      const slot = key.slice(dot + 1);
      if (dot <= 0 || !this.slotNames.includes(slot)) {
        throw new Error(
          `${this.owner}: slot "${key}" is not "<param>.<slot>" with slot one of ${this.slotNames.join(', ')}; was it exported by another optimizer type?`,
        );
      }
      assertPlainTensor(p, `${this.owner} slot ${key}`);
    }
    this.dispose();
    for (const [key, p] of Object.entries(slots)) {
      const t = tf.tensor(p.values, p.shape, 'float32');
      this.slots.set(key, tf.variable(t, false));
      t.dispose();
    }
  }

  dispose(): number {
    let freed = 0;
    for (const v of this.slots.values()) {
      if (!v.isDisposed) {
        v.dispose();
        freed++;
      }
    }
    this.slots.clear();
    return freed;
  }
}
