// Public API of @cola/data: plain typed arrays and strings only, no TensorFlow, no services.
export { fmix32, mulberry32, mixSeed, randomInt, shuffleInPlace, permutation, type Rng } from './rng';
export type { Tokenizer } from './tokenizer/tokenizer';
export { ByteTokenizer, type ByteStreamDecoder, type ByteTokenizerJson } from './tokenizer/byte-tokenizer';
export { emailBody, collapseWhitespace } from './corpora/email-body';
export {
  loadSpamAssassin,
  SPAM_ASSASSIN_LABELS,
  SPAM_ASSASSIN_DEFAULTS,
  type SpamLabel,
  type SpamAssassinEmail,
  type SpamAssassinOptions,
  type SpamAssassinSplits,
} from './corpora/spam-assassin';
export { loadStateOfTheUnion, type StateOfTheUnionAddress } from './corpora/state-of-the-union';
export { loadMobyDick, type MobyDickChapter } from './corpora/moby-dick';
export { parseJsonl, type ParseJsonlOptions } from './jsonl/parse-jsonl';
export { toJsonl } from './jsonl/to-jsonl';
export { chatRows, MAX_CHAT_MESSAGES } from './jsonl/chat-rows';
export {
  CHAT_ROLES,
  CHAT_STOP,
  chatAnswer,
  ChatAnswerStream,
  chatPrompt,
  renderChat,
  roleMarker,
  type ChatMessage,
  type ChatRole,
} from './chat/chat-template';
export { JsonlError, type JsonlErrorCode } from './jsonl/jsonl-error';
export type { ClassificationRow, CompletionRow, ClassificationDataset, CompletionDataset, JsonlDataset } from './jsonl/jsonl-types';
export type {
  TokenBatch,
  ClassificationBatch,
  CompletionBatch,
  BatchIterable,
  BatchOrderOptions,
  PaddedBatchOptions,
} from './batching/token-batch';
export { classificationBatches, type ClassificationBatchOptions } from './batching/classification-batches';
export { completionBatches, type CompletionBatchOptions } from './batching/completion-batches';
export { lmBatches, type LmBatchOptions } from './batching/lm-batches';
export {
  windowedClassificationBatches,
  splitWindows,
  windowCoverage,
  DEFAULT_MAX_WINDOWS,
  type WindowedClassificationBatch,
  type WindowedBatchOptions,
  type WindowCoverage,
} from './batching/windowed-classification-batches';
export { passages } from './corpora/passages';
