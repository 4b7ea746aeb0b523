import { tf, type AdapterSet } from '@cola/gl';

/**
 * The first trainable parameter (`<layer>.<name>`) holding a NaN or an infinity, or null when all
 * are finite. One boolean per parameter is read back, never the values.
 */
export function firstNonFiniteParam(adapters: AdapterSet): string | null {
  for (const [tap, { adapter }] of adapters.layers) {
    for (const [name, v] of adapter.params) {
      const finite = tf.tidy(() => tf.all(tf.isFinite(v)).dataSync()[0]);
      if (!finite) return `${tap}.${name}`;
    }
  }
  return null;
}
