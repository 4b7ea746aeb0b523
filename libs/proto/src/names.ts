import { DType } from './gen/cola/v1/tensor';
import { TransferMode } from './gen/cola/v1/transfer';

/** Short dtype names as used in job specs, env variables and `@cola/gl` (`WireDtype` plus int32). */
export type DtypeName = 'fp32' | 'fp16' | 'bf16' | 'int32';

/** Short transfer-mode names as used in job specs and the HTTP API. */
export type TransferModeName = 'activations' | 'gram';

const DTYPE_BY_NAME: Readonly<Record<DtypeName, DType>> = {
  fp32: DType.DTYPE_FP32,
  fp16: DType.DTYPE_FP16,
  bf16: DType.DTYPE_BF16,
  int32: DType.DTYPE_INT32,
};

const MODE_BY_NAME: Readonly<Record<TransferModeName, TransferMode>> = {
  activations: TransferMode.TRANSFER_MODE_ACTIVATIONS,
  gram: TransferMode.TRANSFER_MODE_GRAM,
};

/** Maps 'fp32' | 'fp16' | 'bf16' | 'int32' to the wire enum; throws a RangeError listing the valid names. */
export function dtypeFromName(name: string): DType {
  const d = (DTYPE_BY_NAME as Record<string, DType | undefined>)[name];
  if (d === undefined) throw new RangeError(`unknown dtype "${name}": use one of ${Object.keys(DTYPE_BY_NAME).join(', ')}`);
  return d;
}

/** Maps a wire dtype to its short name; throws a RangeError for DTYPE_UNSPECIFIED or an unknown value. */
export function dtypeToName(dtype: DType): DtypeName {
  for (const [name, d] of Object.entries(DTYPE_BY_NAME)) if (d === dtype) return name as DtypeName;
  throw new RangeError(`${describeDtype(dtype)} has no short name: set the tensor's dtype to fp32, fp16, bf16 or int32`);
}

/** Maps 'activations' | 'gram' to the wire enum; throws a RangeError listing the valid names. */
export function transferModeFromName(name: string): TransferMode {
  const m = (MODE_BY_NAME as Record<string, TransferMode | undefined>)[name];
  if (m === undefined) throw new RangeError(`unknown transfer mode "${name}": use one of ${Object.keys(MODE_BY_NAME).join(', ')}`);
  return m;
}

/** Maps a wire transfer mode to its short name; throws a RangeError for UNSPECIFIED or an unknown value. */
export function transferModeToName(mode: TransferMode): TransferModeName {
  for (const [name, m] of Object.entries(MODE_BY_NAME)) if (m === mode) return name as TransferModeName;
  throw new RangeError(`transfer mode ${TransferMode[mode] ?? mode} has no short name: use activations or gram`);
}

/** "DTYPE_FP16" for a known value, "unknown dtype 9" otherwise (decoders may see future values). */
export function describeDtype(dtype: DType): string {
  const name = DType[dtype] as string | undefined;
  return name === undefined || dtype === DType.UNRECOGNIZED ? `unknown dtype ${dtype}` : name;
}
