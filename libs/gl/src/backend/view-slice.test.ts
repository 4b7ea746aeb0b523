import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copySliceKernels, initBackend, readFloats, tf, viewSliceKernels } from '../index';

/** Every slice and split the tests compare, as plain arrays, on the kernels registered now. */
function outputs(): number[][] {
  return tf.tidy(() => {
    const x3 = tf.reshape(tf.range(0, 4 * 5 * 6), [4, 5, 6]);
    const x2 = tf.reshape(tf.range(0, 7 * 9, 1, 'int32'), [7, 9]);
    const b = tf.tensor1d([1, 0, 1, 1, 0, 0], 'bool');
    const cases: tf.Tensor[] = [
      tf.slice(x3, [1, 0, 0], [2, -1, -1]), // whole rows: one contiguous run
      tf.slice(x3, [0, 2, 1], [3, 2, 4]), // strided in two dims
      tf.slice(x3, [2, 1, 0], [1, 3, -1]), // trailing dim whole
      tf.slice(x2, [3, 2], [4, 5]),
      tf.slice(x2, [0, 0], [0, 9]), // empty
      tf.slice(b, [2], [3]),
      ...tf.split(x2, [2, 0, 5], 0),
      ...tf.split(x3, 3, 2), // along the inner dim, as the q/k/v split
      ...tf.split(x3, [1, 4], 1),
    ];
    return cases.map((t) => Array.from(t.dataSync() as ArrayLike<number>).concat(t.shape.map((s) => -1 - s)));
  });
}

describe('when the wasm backend slices and splits through views of its heap', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it("should return exactly the backend's own Slice and SplitV results, and their gradients", () => {
    const view = outputs();
    const grads = (): number[] =>
      tf.tidy(() => {
        const x = tf.randomNormal([6, 4], 0, 1, 'float32', 3);
        const g = tf.grad((t: tf.Tensor) => {
          const [a, b] = tf.split(t, [2, 4], 0);
          return tf.add(tf.sum(tf.mul(a!, 2)), tf.sum(tf.slice(b!, [1, 1], [2, 2])));
        })(x);
        return Array.from(g.dataSync());
      });
    const viewGrads = grads();
    copySliceKernels(tf.getBackend());
    try {
      assert.deepEqual(view, outputs());
      assert.deepEqual(viewGrads, grads());
    } finally {
      viewSliceKernels(tf.getBackend());
    }
    // Spot-check one by hand: rows 3..6, columns 2..6 of 0..62 laid out 7 x 9.
    assert.deepEqual(view[3]!.slice(0, 5), [29, 30, 31, 32, 33]);
    assert.equal(tf.getBackend(), process.env.COLA_BACKEND ?? 'wasm');
  });

  it('should leave no tensor behind', () => {
    const start = tf.memory().numTensors;
    outputs();
    assert.equal(tf.memory().numTensors, start);
  });

  it("should read a float32 tensor's values as dataSync does, and refuse another dtype", () => {
    const t = tf.randomNormal([33, 7], 0, 1, 'float32', 5);
    const i = tf.tensor1d([1, 2], 'int32');
    try {
      assert.deepEqual(Array.from(readFloats(t)), Array.from(t.dataSync()));
      assert.throws(() => readFloats(i), /float32 tensor is needed, got int32/);
    } finally {
      tf.dispose([t, i]);
    }
  });
});
