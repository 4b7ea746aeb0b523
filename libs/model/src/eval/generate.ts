import { tf } from '@cola/gl';
import { mulberry32 } from '@cola/data';
import { forward, type InjectFn, type TapDelta } from '../forward/forward';
import type { GptModel } from '../weights/gpt-model';

/** Options for {@link generate}. */
export interface GenerateOptions {
  /** How many tokens to produce at most. */
  maxNewTokens: number;
  /** 0 (default) picks the most likely token (greedy); > 0 samples from softmax(logits / temperature). */
  temperature?: number;
  /** Seed of the sampler, so a sampled continuation is reproducible. Default 0. */
  seed?: number;
  /** Stop after producing this token (e.g. the tokenizer's eos id); it is included in the output. */
  stopId?: number;
  /** Unmerged aux outputs, added at their taps. */
  inject?: InjectFn;
  /** Merged aux deltas. */
  deltas?: ReadonlyMap<string, TapDelta>;
}

/**
 * Continues `promptIds` token by token and returns only the new tokens. The context is the last
 * nPositions tokens; there is no KV cache, which is fine at our model sizes.
 */
export function generate(model: GptModel, promptIds: readonly number[], opts: GenerateOptions): number[] {
  return [...generateTokens(model, promptIds, opts)];
}

/**
 * {@link generate} one token at a time, for streaming: each `next()` runs one forward pass and
 * yields the token it chose, so a caller can send it at once, pause between tokens, or stop early
 * (`return()`) without computing the rest. The options are checked here, before the first token.
 */
export function generateTokens(model: GptModel, promptIds: readonly number[], opts: GenerateOptions): Generator<number, void, undefined> {
  const { maxNewTokens } = opts;
  const temperature = opts.temperature ?? 0;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0)
    throw new Error(`generate: maxNewTokens must be an integer >= 0 (got ${maxNewTokens})`);
  if (!(temperature >= 0)) throw new Error(`generate: temperature must be >= 0 (got ${temperature})`);
  if (promptIds.length === 0) throw new Error('generate: the prompt is empty; pass at least one token (e.g. the eos id)');
  return tokens(model, [...promptIds], { ...opts, temperature });
}

function* tokens(model: GptModel, ids: number[], opts: GenerateOptions & { temperature: number }): Generator<number, void, undefined> {
  const { nPositions, vocabSize } = model.config;
  const { temperature } = opts;
  const rng = mulberry32(opts.seed ?? 0);
  for (let step = 0; step < opts.maxNewTokens; step++) {
    const ctx = ids.slice(-nPositions);
    const T = ctx.length;
    const probs = tf.tidy(() => {
      const logits = forward(
        model,
        { ids: Int32Array.from(ctx), mask: new Int32Array(T).fill(1), batch: 1, seqLen: T },
        {
          head: 'lm',
          inject: opts.inject,
          deltas: opts.deltas,
        },
      );
      const last = tf.reshape(tf.slice(logits, [0, T - 1, 0], [1, 1, vocabSize]), [vocabSize]);
      return temperature === 0 ? last : tf.softmax(tf.div(last, temperature));
    });
    const p = probs.dataSync() as Float32Array;
    probs.dispose();
    const next = temperature === 0 ? argMax(p) : sample(p, rng());
    ids.push(next);
    yield next;
    if (next === opts.stopId) return;
  }
}

function argMax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

function sample(p: Float32Array, u: number): number {
  let acc = 0;
  for (let i = 0; i < p.length; i++) {
    acc += p[i];
    if (u < acc) return i;
  }
  return p.length - 1;
}
