// @cola/proto: the cola.v1 wire format. Generated messages and the Inference gRPC service
// (src/gen, from libs/proto/proto via `npm run proto:gen`) plus plain helpers on raw bytes.
// This lib imports nothing of ours and no TensorFlow; tensors are dtype + shape + little-endian bytes.

/** Protobuf package of every message here; gRPC paths are `/cola.v1.<Service>/<Method>`. */
export const PROTO_PACKAGE = 'cola.v1';

export * from './gen/cola/v1/tensor';
export * from './gen/cola/v1/transfer';
export * from './gen/cola/v1/adaptation';
export * from './gen/cola/v1/aux';
export * from './gen/cola/v1/events';
export * from './gen/cola/v1/job';
export * from './gen/cola/v1/inference';

export { WireFormatError } from './wire-format-error';
export { describeDtype, dtypeFromName, dtypeToName, transferModeFromName, transferModeToName } from './names';
export type { DtypeName, TransferModeName } from './names';
export {
  bytesToTensor,
  dtypeItemSize,
  elementCount,
  float32ToTensor,
  int32ToTensor,
  tensorByteLength,
  tensorToFloat32,
  tensorToInt32,
  validateTensor,
} from './tensor-codec';
export { sha256Hex, tensorRefFor, verifyTensorRef } from './tensor-ref';
export { decodeMessage, encodeMessage } from './decode-message';
export type { MessageCodec } from './decode-message';
export { validateAdaptationBatch } from './adaptation-batch-validator';
export { decodeAdaptationBatch, encodeAdaptationBatch } from './adaptation-batch-codec';
export { decodeAdaptationBatchView, planAdaptationBatch } from './adaptation-batch-wire';
export type { AdaptationBatchPlan, LayerSource, TensorSource } from './adaptation-batch-wire';
