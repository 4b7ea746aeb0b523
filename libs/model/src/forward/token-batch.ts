import type { TokenBatch } from '@cola/data';
import type { GptConfig } from '../config/gpt-config';

// One batch shape for data and model: @cola/data builds it, the model reads it.
export type { TokenBatch } from '@cola/data';

/** Checks a batch against a config once, with messages that say what to change. */
export function validateTokenBatch(config: GptConfig, b: TokenBatch): void {
  const { batch, seqLen, ids, mask } = b;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`TokenBatch.batch must be a positive integer (got ${batch})`);
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new Error(`TokenBatch.seqLen must be a positive integer (got ${seqLen})`);
  if (seqLen > config.nPositions) {
    throw new Error(`TokenBatch.seqLen ${seqLen} exceeds the model's nPositions ${config.nPositions}; truncate the sequences`);
  }
  if (ids.length !== batch * seqLen || mask.length !== batch * seqLen) {
    throw new Error(`TokenBatch ids (${ids.length}) and mask (${mask.length}) must both have batch*seqLen = ${batch * seqLen} entries`);
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= config.vocabSize) {
      throw new Error(
        `TokenBatch id ${id} at row ${Math.floor(i / seqLen)}, position ${i % seqLen} is outside the vocabulary [0, ${config.vocabSize})`,
      );
    }
    if (mask[i] !== 0 && mask[i] !== 1) throw new Error(`TokenBatch mask must hold only 0 and 1 (got ${mask[i]} at index ${i})`);
  }
}

/**
 * Index of the last real token of each row (the classification pooling point). A row without any
 * real token cannot be classified and is an error.
 */
export function lastTokenIndices(b: TokenBatch): Int32Array {
  const out = new Int32Array(b.batch);
  for (let r = 0; r < b.batch; r++) {
    let last = -1;
    for (let t = 0; t < b.seqLen; t++) if (b.mask[r * b.seqLen + t] === 1) last = t;
    if (last < 0) throw new Error(`TokenBatch row ${r} has no real token (mask is all 0); drop empty rows before classifying`);
    out[r] = last;
  }
  return out;
}

/**
 * Builds a right-padded batch from token id lists, truncating each to `seqLen` (default: the
 * longest list). Padding uses `padId`, masked out everywhere.
 */
export function makeTokenBatch(rows: readonly (readonly number[])[], opts: { seqLen?: number; padId: number }): TokenBatch {
  if (rows.length === 0) throw new Error('makeTokenBatch needs at least one row');
  const seqLen = opts.seqLen ?? Math.max(...rows.map((r) => r.length));
  if (!(seqLen >= 1)) throw new Error('makeTokenBatch: seqLen must be at least 1');
  const ids = new Int32Array(rows.length * seqLen).fill(opts.padId);
  const mask = new Int32Array(rows.length * seqLen);
  rows.forEach((row, r) => {
    const n = Math.min(row.length, seqLen);
    for (let t = 0; t < n; t++) {
      ids[r * seqLen + t] = row[t];
      mask[r * seqLen + t] = 1;
    }
  });
  return { ids, mask, batch: rows.length, seqLen };
}
