import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@cola/gl';
import type { InjectFn } from '../forward/forward';
import { makeTokenBatch } from '../forward/token-batch';
import { initClassificationHead, initGptModel } from '../weights/gpt-init';
import { allTaps, tapShape } from '../taps/taps';
import { hostStep } from './host-step';

const CONFIG = { vocabSize: 37, nPositions: 24, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };
const ROWS = [
  [1, 2, 3, 4, 5, 6, 7],
  [8, 9, 10],
  [11, 12, 13, 14, 15],
  [16, 17, 18, 19],
];
const LABELS = Int32Array.from([0, 2, 1, 1]);

function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  const norm = (t: tf.Tensor): tf.Tensor => tf.sqrt(tf.sum(tf.square(t)));
  return tf.tidy(() => tf.div(norm(tf.sub(a, b)), tf.add(norm(b), 1e-30)).dataSync()[0]!);
}

describe("when the host step's fused frozen-weight ops replace the primitive ones", () => {
  before(async () => {
    await initBackend({ log: null });
  });

  for (const head of ['lm', 'cls'] as const) {
    it(`should give the same loss, X and G on every tap within 1e-6 (${head} head, an injected aux on every tap)`, () => {
      const model = initGptModel(CONFIG, { seed: 7 });
      initClassificationHead(model, 3, { seed: 7 });
      const taps = allTaps(model.config).filter((t) => head === 'cls' || t !== 'score');
      const mats = new Map(
        taps.map((t, i) => {
          const { dIn, dOut } = tapShape(model.config, t);
          return [t, tf.randomNormal([dIn, dOut], 0, 0.1, 'float32', 90 + i) as tf.Tensor2D] as const;
        }),
      );
      const inject: InjectFn = (tap, x) => (mats.has(tap) ? (tf.matMul(x, mats.get(tap)!) as tf.Tensor2D) : null);
      const batch = makeTokenBatch(ROWS, { padId: 36, seqLen: 8 });
      const labels = head === 'cls' ? LABELS : undefined;
      const primitive = hostStep(model, batch, { head, labels, taps, inject, ops: 'primitive' });
      const fused = hostStep(model, batch, { head, labels, taps, inject, ops: 'fused' });
      assert.ok(Math.abs(fused.loss - primitive.loss) <= 1e-6 * Math.abs(primitive.loss), `loss ${fused.loss} vs ${primitive.loss}`);
      for (const t of taps) {
        const p = primitive.taps.get(t)!;
        const f = fused.taps.get(t)!;
        assert.equal(relDiff(f.x, p.x), 0, `${t}: the forward values are the same expressions`);
        assert.ok(relDiff(f.g, p.g) <= 1e-6, `${t}: G differs by ${relDiff(f.g, p.g)}`);
      }
      for (const r of [primitive, fused]) for (const { x, g } of r.taps.values()) tf.dispose([x, g]);
      tf.dispose([...mats.values()]);
      model.dispose();
    });
  }
});
