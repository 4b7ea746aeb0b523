import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@cola/gl';
import type { InjectFn } from '../forward/forward';
import type { LmTokenBatch } from '../forward/losses';
import { makeTokenBatch } from '../forward/token-batch';
import { initClassificationHead, initGptModel } from '../weights/gpt-init';
import type { GptModel } from '../weights/gpt-model';
import { tapShape } from '../taps/taps';
import { chunkedHostStep } from './chunked-host-step';
import { hostStep, type HostStepResult } from './host-step';

const CONFIG = { vocabSize: 37, nPositions: 24, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };
// Rows of different lengths, so chunks hold different numbers of next-token targets.
const ROWS = [
  [1, 2, 3, 4, 5, 6, 7],
  [8, 9, 10],
  [11, 12, 13, 14, 15],
  [16, 17],
  [18, 19, 20, 21, 22, 23, 24],
  [25, 26, 27, 28],
];
const LABELS = Int32Array.from([0, 2, 1, 1, 0, 2]);
const TAPS = ['h.0.attn.c_attn', 'h.1.mlp.c_fc', 'h.1.attn.c_proj', 'score'];

function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  const norm = (t: tf.Tensor): tf.Tensor => tf.sqrt(tf.sum(tf.square(t)));
  return tf.tidy(() => tf.div(norm(tf.sub(a, b)), tf.add(norm(b), 1e-30)).dataSync()[0]);
}

function model(): GptModel {
  const m = initGptModel(CONFIG, { seed: 31 });
  initClassificationHead(m, 3, { seed: 31 });
  return m;
}

/** A fixed random linear aux on every tap, so G also flows through an injected output. */
function aux(m: GptModel): { inject: InjectFn; dispose: () => void } {
  const mats = new Map(
    TAPS.map((t, i) => {
      const { dIn, dOut } = tapShape(m.config, t);
      return [t, tf.randomNormal([dIn, dOut], 0, 0.1, 'float32', 60 + i) as tf.Tensor2D] as const;
    }),
  );
  return {
    inject: (tap, x) => (mats.has(tap) ? (tf.matMul(x, mats.get(tap)!) as tf.Tensor2D) : null),
    dispose: () => tf.dispose([...mats.values()]),
  };
}

function disposeResult(r: HostStepResult): void {
  for (const { x, g } of r.taps.values()) tf.dispose([x, g]);
}

describe('when a host step runs a batch in row chunks', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  for (const head of ['cls', 'lm'] as const) {
    for (const maxRows of [1, 4]) {
      it(`should give the X, G, XᵀG and loss of one pass (${head} head, ${maxRows} row(s) per chunk)`, () => {
        const m = model();
        const a = aux(m);
        const taps = head === 'cls' ? TAPS : TAPS.filter((t) => t !== 'score');
        const batch: LmTokenBatch = makeTokenBatch(ROWS, { padId: 36, seqLen: 8 });
        // Only some tokens are targets, as in a prompt/completion LM batch.
        if (head === 'lm') batch.lossMask = Int32Array.from(batch.ids, (_, i) => (i % 3 === 0 ? 0 : 1));
        const start = tf.memory().numTensors;
        const whole = hostStep(m, batch, { head, labels: LABELS, taps, inject: a.inject });
        const chunked = chunkedHostStep(m, batch, { head, labels: LABELS, taps, inject: a.inject, maxRows });
        assert.ok(Math.abs(chunked.loss - whole.loss) <= 1e-6 * whole.loss, `loss ${chunked.loss} vs ${whole.loss}`);
        for (const tap of taps) {
          const w = whole.taps.get(tap)!;
          const c = chunked.taps.get(tap)!;
          assert.deepEqual(c.x.shape, w.x.shape);
          assert.ok(relDiff(c.x, w.x) <= 1e-6, `${tap}: X differs by ${relDiff(c.x, w.x)}`);
          assert.ok(relDiff(c.g, w.g) <= 1e-6, `${tap}: G differs by ${relDiff(c.g, w.g)}`);
          const [gw, gc] = [tf.matMul(w.x, w.g, true, false), tf.matMul(c.x, c.g, true, false)];
          assert.ok(relDiff(gc, gw) <= 1e-6, `${tap}: XᵀG differs by ${relDiff(gc, gw)}`);
          tf.dispose([gw, gc]);
        }
        disposeResult(whole);
        disposeResult(chunked);
        assert.equal(tf.memory().numTensors, start, 'no tensor left behind');
        a.dispose();
        m.dispose();
      });
    }
  }

  it('should refuse a chunk size that is not a positive integer', () => {
    const m = model();
    const batch = makeTokenBatch(ROWS, { padId: 36, seqLen: 8 });
    assert.throws(
      () => chunkedHostStep(m, batch, { head: 'lm', taps: ['h.0.attn.c_attn'], maxRows: 0 }),
      /maxRows must be an integer >= 1/,
    );
    assert.throws(() => hostStep(m, batch, { head: 'lm', taps: ['h.0.attn.c_attn'], lossDivisor: -1 }), /lossDivisor must be a positive/);
    m.dispose();
  });
});
