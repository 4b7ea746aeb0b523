import { tf } from '@cola/gl';
import { ByteTokenizer, splitWindows } from '@cola/data';
import { forward, generateTokens, makeTokenBatch, poolWindows, SCORE_TAP, type TapDelta, type TokenBatch } from '@cola/model';
import type { Classification } from '@cola/proto';
import { InferenceError } from './inference-error';
import type { LoadedModel } from './served-models';

/** Limits of one inference request. */
export interface InferenceLimits {
  /** Most texts in one Classify request. */
  maxTexts: number;
  /** Most tokens one Generate request may ask for. */
  maxNewTokens: number;
  /** Tokens generated when a request asks for 0 (proto3's "unset"). */
  defaultNewTokens: number;
  /** Rows (windows of texts) per forward pass (bounds activation memory); a text's windows are never split. */
  batchSize: number;
}

/** Defaults of {@link InferenceLimits}. */
export const DEFAULT_INFERENCE_LIMITS: Readonly<InferenceLimits> = {
  maxTexts: 256,
  maxNewTokens: 512,
  defaultNewTokens: 64,
  batchSize: 32,
};

const tokenizer = new ByteTokenizer();

/** A Classify batch: one row per window of each text, and the text each row belongs to. */
export interface ClassifyBatch extends TokenBatch {
  /** Text (0..texts-1) of each row. */
  windowOf: Int32Array;
  /** Texts in the batch. */
  examples: number;
}

/** The windows of one text as training cut them: up to `maxWindows` of `maxLength` tokens from the start. */
function textWindows(text: string, i: number, maxLength: number, maxWindows: number): number[][] {
  const cap = maxLength * maxWindows;
  const ids = tokenizer.encode(text.slice(0, cap + 1)).slice(0, cap);
  if (ids.length === 0) throw new InferenceError('invalid_argument', `texts[${i}] is empty; every text needs at least one character`);
  return splitWindows(ids, maxLength, maxWindows);
}

/**
 * The token batch Classify runs for `texts`, windowed exactly as the job's training batches
 * (windowedClassificationBatches): each text split into up to `maxWindows` windows of `maxLength`
 * byte tokens from its start, every window a row, right-padded to the longest. With one window
 * per text this is plain truncation to the first `maxLength` tokens.
 */
export function classificationBatch(texts: readonly string[], maxLength: number, maxWindows = 1): ClassifyBatch {
  const rows: number[][] = [];
  const windowOf: number[] = [];
  texts.forEach((t, i) => {
    for (const w of textWindows(t, i, maxLength, maxWindows)) {
      rows.push(w);
      windowOf.push(i);
    }
  });
  return { ...makeTokenBatch(rows, { padId: tokenizer.padId }), windowOf: Int32Array.from(windowOf), examples: texts.length };
}

/** Consecutive runs of texts whose windows add up to at most `rows` rows (a text with more is a run alone). */
function textRuns(texts: readonly string[], m: LoadedModel, rows: number): string[][] {
  const runs: string[][] = [];
  let run: string[] = [];
  let used = 0;
  texts.forEach((t, i) => {
    const n = textWindows(t, i, m.maxLength, m.maxWindows).length;
    if (run.length > 0 && used + n > rows) {
      runs.push(run);
      run = [];
      used = 0;
    }
    run.push(t);
    used += n;
  });
  if (run.length) runs.push(run);
  return runs;
}

/**
 * Classifies texts with a loaded model: the class logits of a text's windows are mean-pooled as
 * in training (poolWindows), then softmax; the most probable label first in `label`, every
 * label's probability in `scores` (head order).
 */
export function classifyTexts(
  m: LoadedModel,
  texts: readonly string[],
  limits: InferenceLimits = DEFAULT_INFERENCE_LIMITS,
): Classification[] {
  if (m.task !== 'classification')
    throw new InferenceError(
      'failed_precondition',
      `model "${m.name}" is a language model with no classifier head: classify with a model fine-tuned on a classification task, or generate text with this one`,
    );
  if (texts.length === 0) throw new InferenceError('invalid_argument', 'texts is empty; send at least one text');
  if (texts.length > limits.maxTexts)
    throw new InferenceError('invalid_argument', `${texts.length} texts in one request; send at most ${limits.maxTexts}`);
  const out: Classification[] = [];
  for (const run of textRuns(texts, m, limits.batchSize)) {
    const batch = classificationBatch(run, m.maxLength, m.maxWindows);
    const probs = tf.tidy(() => {
      const logits = forward(m.model, batch, { head: 'cls', deltas: m.deltas, inject: m.inject });
      return tf.softmax(poolWindows(logits, batch.windowOf, batch.examples));
    });
    const p = probs.dataSync() as Float32Array;
    probs.dispose();
    const k = m.labels.length;
    for (let r = 0; r < batch.examples; r++) {
      const scores = m.labels.map((label, j) => ({ label, score: p[r * k + j]! }));
      const best = scores.reduce((a, b) => (b.score > a.score ? b : a));
      out.push({ label: best.label, scores });
    }
  }
  return out;
}

/** What {@link completePrompt} produced. */
export interface Completion {
  text: string;
  tokens: number;
}

/** Sampling settings of one Generate or GenerateStream request, as on the wire. */
export interface CompletionOptions {
  /** 0 means the default, {@link InferenceLimits.defaultNewTokens}. */
  maxNewTokens: number;
  /** 0 is greedy. */
  temperature: number;
  seed: number;
}

/**
 * Continues a prompt with a loaded causal-LM model: greedy at temperature 0, else sampled with
 * the seed (same seed, prompt and version → same text). Stops at the end-of-text token.
 */
export function completePrompt(
  m: LoadedModel,
  prompt: string,
  opts: CompletionOptions,
  limits: InferenceLimits = DEFAULT_INFERENCE_LIMITS,
): Completion {
  let text = '';
  let tokens = 0;
  for (const piece of streamCompletion(m, prompt, opts, limits)) {
    text += piece.text;
    tokens = piece.tokens;
  }
  return { text, tokens };
}

/**
 * {@link completePrompt} as it is decoded: one piece per generated token (its text, '' while a
 * multi-byte character is incomplete or for the end-of-text token; the tokens so far), and one
 * more if the text ends inside a character. The pieces joined are completePrompt's text. The
 * request is checked here, before the first forward pass (an {@link InferenceError}); stopping the
 * iteration early stops the generation.
 */
export function streamCompletion(
  m: LoadedModel,
  prompt: string,
  opts: CompletionOptions,
  limits: InferenceLimits = DEFAULT_INFERENCE_LIMITS,
): Generator<Completion, void, undefined> {
  if (m.task !== 'causal_lm') throw new InferenceError('failed_precondition', `model "${m.name}" is a classification model; use Classify`);
  const n = opts.maxNewTokens === 0 ? limits.defaultNewTokens : opts.maxNewTokens;
  if (!Number.isInteger(n) || n < 0 || n > limits.maxNewTokens)
    throw new InferenceError(
      'invalid_argument',
      `max_new_tokens must be from 0 (default ${limits.defaultNewTokens}) to ${limits.maxNewTokens}, got ${opts.maxNewTokens}`,
    );
  if (!(opts.temperature >= 0) || !Number.isFinite(opts.temperature))
    throw new InferenceError('invalid_argument', `temperature must be a finite number >= 0 (0 = greedy), got ${opts.temperature}`);
  // An empty prompt starts from the end-of-text token, as a fresh document would.
  const ids = prompt.length ? tokenizer.encode(prompt) : [tokenizer.eosId];
  const steps = generateTokens(m.model, ids, {
    maxNewTokens: n,
    temperature: opts.temperature,
    // The sampler (mulberry32) takes a 32-bit seed; a uint64 from the wire is folded into it.
    seed: opts.seed >>> 0,
    stopId: tokenizer.eosId,
    deltas: m.deltas ? lmDeltas(m.deltas) : undefined,
    inject: m.inject,
  });
  return decodePieces(steps);
}

function* decodePieces(steps: Generator<number, void, undefined>): Generator<Completion, void, undefined> {
  const decoder = tokenizer.streamDecoder();
  let tokens = 0;
  // A caller that stops early closes this loop, and for-of closes the token generator with it.
  for (const id of steps) yield { text: decoder.push(id), tokens: ++tokens };
  const rest = decoder.end();
  if (rest) yield { text: rest, tokens };
}

/** The LM head never runs the `score` tap, and the forward pass refuses deltas for it there. */
function lmDeltas(deltas: ReadonlyMap<string, TapDelta>): ReadonlyMap<string, TapDelta> {
  return deltas.has(SCORE_TAP) ? new Map([...deltas].filter(([tap]) => tap !== SCORE_TAP)) : deltas;
}
