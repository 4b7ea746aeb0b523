import { tf } from '@cola/gl';

/**
 * Wedges this process' compute backend as a wasm heap past 4 GiB does: from now on every matMul
 * kernel of the model throws what Emscripten's abort() throws (`Aborted()`).
 */
export function wedgeMatMul(): void {
  const backend = tf.getBackend();
  for (const kernelName of ['ColaMatMul', 'BatchMatMul']) {
    tf.unregisterKernel(kernelName, backend);
    tf.registerKernel({
      kernelName,
      backendName: backend,
      kernelFunc: () => {
        throw new Error('Aborted(). Build with -sASSERTIONS for more info.');
      },
    });
  }
}
