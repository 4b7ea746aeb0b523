import { disposeDeltas, tf, type AdapterDelta, type AdapterSet } from '@cola/gl';
import type { InjectFn } from '@cola/model';
import { decodeJobAuxState } from '../state/job-aux-state';

/**
 * What the gpu-host holds of one job's aux at one version: the aux weights (unmerged mode) or
 * only their deltas dW, db (merged mode). Never gradients or optimizer slots: versions are
 * decoded `paramsOnly`, which is the point of ColA (docs/design.md section 1).
 */
export class JobAux {
  private constructor(
    /** The aux version these weights are. */
    readonly version: number,
    private readonly adapters: AdapterSet | undefined,
    private readonly merged: ReadonlyMap<string, AdapterDelta> | undefined,
  ) {}

  /** Decodes an aux state blob; `merged` keeps only the deltas. */
  static fromBytes(bytes: Uint8Array, opts: { merged: boolean }): JobAux {
    const state = decodeJobAuxState(bytes, { paramsOnly: true });
    if (!opts.merged) return new JobAux(state.version, state.adapters, undefined);
    try {
      return new JobAux(state.version, undefined, state.adapters.deltas());
    } finally {
      state.adapters.dispose();
    }
  }

  /** Unmerged: adds g(X) at the adapted taps (single-tenant batches). */
  get inject(): InjectFn | undefined {
    return this.adapters?.inject;
  }

  /** Merged: the deltas the taps compute with, W + dW and b + db (single-tenant batches). */
  get deltas(): ReadonlyMap<string, AdapterDelta> | undefined {
    return this.merged;
  }

  /**
   * The aux contribution on a tenant's rows of a mixed batch: g(X) unmerged, X dW + db merged
   * (equal to X (W + dW) + b + db minus the shared X W + b); null when the job does not adapt the tap.
   */
  output(tap: string, x: tf.Tensor2D): tf.Tensor2D | null {
    if (this.adapters) return this.adapters.inject(tap, x);
    const d = this.merged?.get(tap);
    if (!d) return null;
    return tf.tidy(() => {
      const xdw = tf.matMul(x, d.dW) as tf.Tensor2D;
      return d.db ? (tf.add(xdw, d.db) as tf.Tensor2D) : xdw;
    });
  }

  /** Frees the weights or deltas. */
  dispose(): void {
    this.adapters?.dispose();
    if (this.merged) disposeDeltas(this.merged);
  }
}
