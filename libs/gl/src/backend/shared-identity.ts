import { tf } from '../tf';

/** The slice of the wasm backend the shared Identity kernel uses. */
interface RefCountingBackend {
  incRef(dataId: object): void;
}

/** The backend's own (copying) Identity kernel, kept so a bench can measure the path before side by side. */
let copying: tf.KernelConfig | undefined;

/**
 * Puts the wasm backend's own copying Identity kernel back: only for benches that measure the
 * path before the sharing kernel beside it (see {@link shareIdentityData}).
 */
export function copyIdentityData(backendName: string): void {
  if (backendName !== 'wasm' || !copying) return;
  tf.unregisterKernel('Identity', backendName);
  tf.registerKernel(copying);
}

/**
 * Makes the wasm backend's Identity kernel share its input's data (a reference count, as its
 * Reshape and the cpu backend's Identity do) instead of copying it.
 *
 * Why: tfjs saves every tensor a gradient needs by cloning it through Identity, and tfjs-wasm's
 * Identity copies the whole buffer. A backward pass therefore held a second copy of every saved
 * activation, and of every weight a matMul saves, until it ended. tfjs tensors are immutable
 * (kernels write only fresh outputs, a variable's assign swaps in new data), so sharing is safe.
 */
export function shareIdentityData(backendName: string): void {
  if (backendName !== 'wasm') return;
  copying ??= tf.getKernel('Identity', backendName);
  tf.unregisterKernel('Identity', backendName);
  tf.registerKernel({
    kernelName: 'Identity',
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      (backend as unknown as RefCountingBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}
