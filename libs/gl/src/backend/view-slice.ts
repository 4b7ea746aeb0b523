import { tf } from '../tf';

/** The slice of the wasm backend the view-reading kernels use. */
interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** The backend's own Slice and SplitV kernels, kept so a bench can measure them side by side. */
let copying: { slice: tf.KernelConfig; splitV: tf.KernelConfig } | undefined;

/** Registers `config` in place of the kernel of the same name and backend. */
function reregister(config: tf.KernelConfig): void {
  tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/** Dtypes whose data the wasm backend keeps in its heap (strings live in JS). */
const IN_HEAP = new Set<tf.DataType>(['float32', 'int32', 'bool']);

/**
 * Copies the box [begin, begin + size) of `x` into a fresh output, reading the input through a
 * view of the heap: only the wanted elements are touched. The views are taken after the output
 * is allocated, since an allocation may grow the heap and detach earlier views.
 */
function sliceByView(backend: HeapBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const n = size.reduce((a, s) => a * s, 1);
  if (n === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1]! * x.shape[d + 1]!;
  // The innermost run of contiguous elements: trailing dims taken whole merge into it.
  let inner = rank - 1;
  let run = size[rank - 1]!;
  while (inner > 0 && size[inner] === x.shape[inner] && begin[inner] === 0) {
    inner--;
    run *= size[inner]!;
  }
  const base = begin.reduce((a, b, d) => a + b * strides[d]!, 0);
  if (inner === 0) {
    dst.set(src.subarray(base, base + run));
    return out;
  }
  // Odometer over the outer dims [0, inner).
  const idx = new Array<number>(inner).fill(0);
  let written = 0;
  for (;;) {
    let off = base;
    for (let d = 0; d < inner; d++) off += idx[d]! * strides[d]!;
    dst.set(src.subarray(off, off + run), written);
    written += run;
    let d = inner - 1;
    while (d >= 0 && ++idx[d]! === size[d]) idx[d--] = 0;
    if (d < 0) return out;
  }
}

/**
 * Makes the wasm backend's Slice and SplitV kernels read their input through a view of the heap,
 * copying only the elements they return, instead of first copying the WHOLE input out of the heap
 * (tfjs-wasm's Slice calls `readSync`, and its SplitV runs that Slice once per output).
 *
 * Why: every split of the fused q/k/v projection, every row range of a batch and every split a
 * gradient of `concat` makes cost the whole input per output; splitting a mixed batch into
 * tenants this way cost O(tenants x rows) per tap. With views each kernel costs O(its output).
 * The results are the same bytes.
 */
export function viewSliceKernels(backendName: string): void {
  if (backendName !== 'wasm') return;
  copying ??= { slice: tf.getKernel('Slice', backendName), splitV: tf.getKernel('SplitV', backendName) };
  const own = copying;
  reregister({
    kernelName: 'Slice',
    backendName,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (!IN_HEAP.has(x.dtype)) return own.slice.kernelFunc(args);
      const attrs = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
      const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size);
      return sliceByView(args.backend as HeapBackend, x, begin, size);
    },
  });
  reregister({
    kernelName: 'SplitV',
    backendName,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (!IN_HEAP.has(x.dtype)) return own.splitV.kernelFunc(args);
      const attrs = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number | number[] };
      const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0]!;
      const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((s) => {
        const size = [...x.shape];
        size[axis] = s;
        const out = sliceByView(args.backend as HeapBackend, x, [...begin], size);
        begin[axis]! += s;
        return out;
      });
    },
  });
}

/**
 * Puts the wasm backend's own Slice and SplitV kernels back: only for benches that measure them
 * beside the view-reading ones (see {@link viewSliceKernels}).
 */
export function copySliceKernels(backendName: string): void {
  if (backendName !== 'wasm' || !copying) return;
  for (const config of [copying.slice, copying.splitV]) reregister(config);
}

/**
 * A float32 tensor's values without a copy where the backend allows it: on wasm a view of its
 * heap (tfjs-wasm's `dataSync` copies the whole buffer into a fresh ArrayBuffer first), elsewhere
 * `dataSync()`. The view is valid only until the next tensor allocation may grow the heap: read
 * it at once, with no tf op in between.
 */
export function readFloats(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`readFloats: a float32 tensor is needed, got ${t.dtype}`);
  if (tf.getBackend() === 'wasm') {
    const backend = tf.backend() as unknown as Partial<HeapBackend>;
    if (typeof backend.typedArrayFromHeap === 'function') return backend.typedArrayFromHeap(t) as Float32Array;
  }
  return t.dataSync() as Float32Array;
}
