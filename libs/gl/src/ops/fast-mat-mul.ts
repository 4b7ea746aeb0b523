import { tf } from '../tf';

/**
 * Our own kernel name. It runs the backend's ordinary BatchMatMul forward; only its gradient
 * differs (see {@link fastMatMul}).
 */
const KERNEL = 'ColaMatMul';

/** Swaps the last two axes. */
function transposeLast2(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(x, perm);
}

let gradientRegistered = false;

function ensureRegistered(): void {
  if (!gradientRegistered) {
    tf.registerGradient({
      kernelName: KERNEL,
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, saved) => {
        const [a, b] = saved;
        const g = dy as tf.Tensor;
        // Lazy per input: tfjs calls only the closures of inputs on a path from the
        // differentiated tensors, so a frozen weight's gradient is never computed.
        return {
          a: () => tf.matMul(g, transposeLast2(b)),
          b: () => tf.matMul(transposeLast2(a), g),
        };
      },
    });
    gradientRegistered = true;
  }
  const backend = tf.getBackend();
  if (tf.getKernel(KERNEL, backend) === undefined) {
    const base = tf.getKernel('BatchMatMul', backend);
    if (base === undefined) throw new Error(`Backend "${backend}" has no BatchMatMul kernel`);
    tf.registerKernel({ kernelName: KERNEL, backendName: backend, kernelFunc: base.kernelFunc, setupFunc: base.setupFunc });
  }
}

/**
 * `a @ b` without transpose flags (rank 2, or rank >= 3 with equal batch axes), whose gradients
 * are also computed without transpose flags.
 *
 * Why: the wasm backend's BatchMatMul is fast only for plain layouts. Measured on this machine
 * at [2048,512]x[512,128]: plain 20 ms, transposeB 120 ms, transposeA 256 ms. tf.matMul's
 * built-in gradient uses exactly those flags (dA = dY B^T, dB = A^T dY), which made backward 5-10x
 * slower than forward. Here the operand is transposed explicitly first (a cheap copy), then
 * multiplied plainly.
 */
export function fastMatMul<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  if (a.rank !== b.rank || a.shape.slice(0, -2).some((s, i) => s !== b.shape[i])) {
    throw new Error(`matMul needs equal ranks and batch axes (got [${a.shape}] and [${b.shape}])`);
  }
  ensureRegistered();
  return tf.engine().runKernel(KERNEL, { a, b }, { transposeA: false, transposeB: false }) as T;
}

/** `a @ b^T` (b given [.., n, k]) through {@link fastMatMul}. */
export function fastMatMulBt<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  return fastMatMul(a, transposeLast2(b));
}
