import { supportsGram, type AuxConfig, type WireDtype } from '@cola/gl';

/** How a job's adaptation data travel from the gpu-host to the aux-trainers. */
export interface TransferSpec {
  /**
   * `activations`: the raw pair (X, G), 4·N·(dIn + dOut) bytes per layer in fp32; works for every
   * aux. `gram`: X^T G and colsum(G), 4·dIn·dOut bytes whatever the batch; exact for linear and
   * lowrank aux without input dropout (docs/design.md, "gram transfer").
   */
  mode: 'activations' | 'gram';
  /** Element type on the wire; fp16 and bf16 halve the bytes at a measured precision cost. */
  dtype: WireDtype;
}

/**
 * A job's transfer as asked for: `auto` (the default) lets the gpu-host pick the smaller encoding
 * once it knows the layer shapes (see chooseTransfer in transfer-choice.ts).
 */
export interface TransferRequest {
  /** A fixed mode, or `auto`. */
  mode: TransferSpec['mode'] | 'auto';
  /** Element type on the wire. */
  dtype: WireDtype;
}

export const DEFAULT_TRANSFER: Readonly<TransferRequest> = { mode: 'auto', dtype: 'fp32' };

/** Raised when a transfer spec does not fit the job; `param` names the offending field. */
export class TransferSpecError extends Error {
  override readonly name = 'TransferSpecError';
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks a transfer request against every aux of a job (`auto` is resolved later, by chooseTransfer). Gram transfer ships only X^T G, from which
 * an mlp (non-linear in X) or an aux with input dropout (needs the per-row mask) cannot be fitted.
 */
export function validateTransferSpec(raw: Partial<TransferRequest> | undefined, auxes: readonly AuxConfig[]): TransferRequest {
  const mode = raw?.mode ?? DEFAULT_TRANSFER.mode;
  const dtype = raw?.dtype ?? DEFAULT_TRANSFER.dtype;
  if (mode !== 'activations' && mode !== 'gram' && mode !== 'auto')
    throw new TransferSpecError(
      'method.transfer.mode',
      `transfer mode must be "auto", "activations" or "gram", got ${JSON.stringify(mode)}`,
    );
  if (!['fp32', 'fp16', 'bf16'].includes(dtype))
    throw new TransferSpecError('method.transfer.dtype', `transfer dtype must be fp32, fp16 or bf16, got ${JSON.stringify(dtype)}`);
  if (mode === 'gram') {
    const bad = auxes.find((a) => !supportsGram(a));
    if (bad) {
      const why =
        bad.type === 'mlp' ? 'an mlp aux is not linear in X, so it needs the raw activations' : 'input dropout needs the raw activations';
      throw new TransferSpecError(
        'method.transfer.mode',
        `gram transfer is not possible with a ${bad.type} aux${bad.type === 'lowrank' ? ' with dropout' : ''}: ${why}; use mode "activations"`,
      );
    }
  }
  return { mode, dtype };
}
