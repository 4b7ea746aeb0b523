import { supportsGram, WIRE_ITEM_SIZE, type AuxConfig } from '@cola/gl';
import type { TransferRequest, TransferSpec } from './transfer-spec';

/** One adapted layer as the transfer sees it: its widths and how many rows of X and G one host batch gives. */
export interface TransferLayer {
  /** Tap name, e.g. `h.0.attn.c_attn` or `score`. */
  tap: string;
  /** Width of the tap's input X. */
  dIn: number;
  /** Width of the tap's output (and of G). */
  dOut: number;
  /** Rows of X and G per host batch: batch × length for a block tap, batch for the pooled `score` head. */
  rowsPerBatch: number;
  /** The aux trained on this tap. */
  aux: AuxConfig;
}

/** Why the transfer of a job is what it is; also the `reason` label of the choice metric. */
export type TransferChoiceReason =
  /** The job named its mode. */
  | 'requested'
  /** `auto`, every aux supports gram and X^T G is smaller than (X, G). */
  | 'auto_gram_smaller'
  /** `auto`, every aux supports gram but (X, G) is not larger than X^T G (a wide layer, few tokens per fit task). */
  | 'auto_activations_smaller'
  /** `auto`, some aux cannot be fitted from X^T G (an mlp, or input dropout). */
  | 'auto_gram_unsupported';

/** Every {@link TransferChoiceReason}, for metric series started at 0. */
export const TRANSFER_CHOICE_REASONS: readonly TransferChoiceReason[] = [
  'requested',
  'auto_gram_smaller',
  'auto_activations_smaller',
  'auto_gram_unsupported',
];

/** The transfer a job runs with, and the sizes it was chosen on. */
export interface TransferChoice {
  /** The resolved mode and dtype. */
  spec: TransferSpec;
  /** Why. */
  reason: TransferChoiceReason;
  /** Payload bytes of one fit task in activations mode: Σ item · rows · (dIn + dOut). */
  activationsBytes: number;
  /** Payload bytes of one fit task in gram mode, Σ item · (dIn · dOut + dOut); null when an aux cannot use gram. */
  gramBytes: number | null;
  /** Host batches per fit task (the adaptation interval I). */
  interval: number;
  /** One sentence for the job's events. */
  message: string;
}

/** What {@link chooseTransfer} needs besides the request. */
export interface TransferChoiceInput {
  /** The adapted layers of the job, with their aux. */
  layers: readonly TransferLayer[];
  /** Host batches per fit task (the adaptation interval I, ≥ 1). */
  interval: number;
}

/** Payload bytes (tensor data only; the protobuf framing adds a few bytes per tensor) of one fit task per mode. */
export function transferSizes(
  layers: readonly TransferLayer[],
  interval: number,
  dtype: TransferSpec['dtype'],
): { activations: number; gram: number } {
  const item = WIRE_ITEM_SIZE[dtype];
  let activations = 0;
  let gram = 0;
  for (const l of layers) {
    activations += item * l.rowsPerBatch * interval * (l.dIn + l.dOut);
    gram += item * (l.dIn * l.dOut + l.dOut);
  }
  return { activations, gram };
}

function kb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

/**
 * Resolves a job's transfer. An explicit mode is kept (validateTransferSpec already refused gram
 * where an aux cannot use it). `auto` computes both payload sizes per fit task from the layer
 * shapes and the tokens per task (rows per batch × interval), and picks gram when every aux can
 * be fitted from X^T G and it is strictly smaller; otherwise activations, which every aux accepts.
 */
export function chooseTransfer(request: TransferRequest, input: TransferChoiceInput): TransferChoice {
  if (!Number.isSafeInteger(input.interval) || input.interval < 1)
    throw new RangeError(`chooseTransfer: interval must be a whole number ≥ 1, got ${input.interval}`);
  if (input.layers.length === 0) throw new RangeError('chooseTransfer: the job adapts no layer');
  const sizes = transferSizes(input.layers, input.interval, request.dtype);
  const blocker = input.layers.find((l) => !supportsGram(l.aux));
  const gramBytes = blocker ? null : sizes.gram;
  const base = { activationsBytes: sizes.activations, gramBytes, interval: input.interval };
  const both = `${kb(sizes.gram)} of X^T G vs ${kb(sizes.activations)} of (X, G) per fit task of ${input.interval} batch(es)`;
  if (request.mode !== 'auto') {
    const spec: TransferSpec = { mode: request.mode, dtype: request.dtype };
    return { spec, reason: 'requested', ...base, message: `Transfer: ${spec.mode}/${spec.dtype} as requested (${both})` };
  }
  if (blocker) {
    const why = blocker.aux.type === 'mlp' ? 'an mlp aux is not linear in X' : 'input dropout needs the per-row X';
    return {
      spec: { mode: 'activations', dtype: request.dtype },
      reason: 'auto_gram_unsupported',
      ...base,
      message: `Transfer: activations/${request.dtype} (auto): the ${blocker.aux.type} aux of ${blocker.tap} cannot use gram (${why}); ${kb(sizes.activations)} per fit task`,
    };
  }
  if (sizes.gram < sizes.activations) {
    return {
      spec: { mode: 'gram', dtype: request.dtype },
      reason: 'auto_gram_smaller',
      ...base,
      message: `Transfer: gram/${request.dtype} (auto), the smaller: ${both}`,
    };
  }
  return {
    spec: { mode: 'activations', dtype: request.dtype },
    reason: 'auto_activations_smaller',
    ...base,
    message: `Transfer: activations/${request.dtype} (auto), the smaller: ${both}`,
  };
}
