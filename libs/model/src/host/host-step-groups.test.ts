import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@cola/gl';
import type { InjectFn } from '../forward/forward';
import { makeTokenBatch, type TokenBatch } from '../forward/token-batch';
import { initClassificationHead, initGptModel } from '../weights/gpt-init';
import type { GptModel } from '../weights/gpt-model';
import { hostStep, type HostStepResult } from './host-step';

const CONFIG = { vocabSize: 37, nPositions: 24, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };
const T = 6;
// Two tenants with different batch sizes and paddings, so a global batch mean would weight them
// differently from their solo means.
const ROWS_A = [
  [1, 2, 3, 4, 5, 6],
  [7, 8, 9],
];
const ROWS_B = [
  [10, 11, 12, 13],
  [14, 15, 16, 17, 18],
  [19, 20],
  [21, 22, 23, 24, 25, 26],
];
const LABELS_A = Int32Array.from([0, 2]);
const LABELS_B = Int32Array.from([1, 1, 0, 2]);
const TAPS = ['h.0.attn.c_attn', 'h.1.mlp.c_proj', 'score'];

function model(): GptModel {
  const m = initGptModel(CONFIG, { seed: 8 });
  initClassificationHead(m, 3, { seed: 8 });
  return m;
}

function concat(a: TokenBatch, b: TokenBatch): TokenBatch {
  const cat = (x: Int32Array, y: Int32Array): Int32Array => {
    const out = new Int32Array(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  };
  return { ids: cat(a.ids, b.ids), mask: cat(a.mask, b.mask), batch: a.batch + b.batch, seqLen: a.seqLen };
}

/** A fixed random aux on every tap, so G depends on the injected output too. */
function aux(m: GptModel, taps: readonly string[]): { inject: InjectFn; dispose: () => void } {
  const mats = new Map(
    taps.map((t, i) => {
      const dIn = t === 'h.1.mlp.c_proj' ? 4 * m.config.nEmbd : m.config.nEmbd;
      const dOut = t === 'h.0.attn.c_attn' ? 3 * m.config.nEmbd : t === 'score' ? 3 : m.config.nEmbd;
      return [t, tf.randomNormal([dIn, dOut], 0, 0.1, 'float32', 40 + i) as tf.Tensor2D] as const;
    }),
  );
  return {
    inject: (tap, x) => (mats.has(tap) ? (tf.matMul(x, mats.get(tap)!) as tf.Tensor2D) : null),
    dispose: () => tf.dispose([...mats.values()]),
  };
}

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.div(tf.max(tf.abs(tf.sub(a, b))), tf.add(tf.max(tf.abs(b)), 1e-12)).dataSync()[0]);
}

function dispose(r: HostStepResult): void {
  for (const { x, g } of r.taps.values()) tf.dispose([x, g]);
}

describe('when a mixed batch of two tenants runs one host step with row groups', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  for (const head of ['cls', 'lm'] as const) {
    it(`should give each group the loss, X and G of its solo batch (${head} head)`, () => {
      const m = model();
      const taps = head === 'cls' ? TAPS : TAPS.filter((t) => t !== 'score');
      const a = makeTokenBatch(ROWS_A, { padId: 36, seqLen: T });
      const b = makeTokenBatch(ROWS_B, { padId: 36, seqLen: T });
      const { inject, dispose: disposeAux } = aux(m, taps);
      const start = tf.memory().numTensors;
      const soloA = hostStep(m, a, { head, labels: LABELS_A, taps, inject });
      const soloB = hostStep(m, b, { head, labels: LABELS_B, taps, inject });
      const labels = Int32Array.from([...LABELS_A, ...LABELS_B]);
      const groups = [
        { start: 0, end: a.batch },
        { start: a.batch, end: a.batch + b.batch },
      ];
      const mixed = hostStep(m, concat(a, b), { head, labels, taps, inject, groups });

      assert.equal(mixed.groupLosses?.length, 2);
      assert.ok(
        Math.abs(mixed.groupLosses![0]! - soloA.loss) <= 1e-6 * soloA.loss,
        `group A loss ${mixed.groupLosses![0]} vs solo ${soloA.loss}`,
      );
      assert.ok(
        Math.abs(mixed.groupLosses![1]! - soloB.loss) <= 1e-6 * soloB.loss,
        `group B loss ${mixed.groupLosses![1]} vs solo ${soloB.loss}`,
      );
      assert.ok(Math.abs(mixed.loss - (soloA.loss + soloB.loss)) <= 1e-6 * mixed.loss, 'the loss is the sum of the group means');
      for (const tap of taps) {
        // Token taps have T rows per sequence, `score` one.
        const per = tap === 'score' ? 1 : T;
        const mx = mixed.taps.get(tap)!;
        for (const [solo, from, n] of [
          [soloA, 0, a.batch],
          [soloB, a.batch, b.batch],
        ] as const) {
          const s = solo.taps.get(tap)!;
          const x = tf.slice(mx.x, [from * per, 0], [n * per, -1]);
          const g = tf.slice(mx.g, [from * per, 0], [n * per, -1]);
          assert.ok(maxRelDiff(x, s.x) <= 1e-5, `${head} ${tap}: X of rows ${from}.. differs by ${maxRelDiff(x, s.x)}`);
          assert.ok(maxRelDiff(g, s.g) <= 1e-5, `${head} ${tap}: G of rows ${from}.. differs by ${maxRelDiff(g, s.g)}`);
          tf.dispose([x, g]);
        }
      }
      // G really differs from what one global batch mean would give (scaled by 2/6 and 4/6).
      const g0 = tf.slice(mixed.taps.get(taps[0]!)!.g, [0, 0], [a.batch * T, -1]);
      const plain = hostStep(m, concat(a, b), { head, labels, taps, inject });
      const gPlain = tf.slice(plain.taps.get(taps[0]!)!.g, [0, 0], [a.batch * T, -1]);
      assert.ok(maxRelDiff(gPlain, g0) > 0.1, 'without groups the tenant G is scaled by its share of the batch');
      assert.equal(plain.groupLosses, undefined);
      tf.dispose([g0, gPlain]);
      for (const r of [soloA, soloB, mixed, plain]) dispose(r);
      assert.equal(tf.memory().numTensors, start, 'no tensor left behind');
      disposeAux();
      m.dispose();
    });
  }

  it('should reject groups that are empty, out of range or overlapping, saying how to fix them', () => {
    const m = model();
    const batch = makeTokenBatch(ROWS_B, { padId: 36, seqLen: T });
    const opts = { head: 'lm' as const, taps: ['h.0.attn.c_attn'] };
    assert.throws(() => hostStep(m, batch, { ...opts, groups: [] }), /groups is empty/);
    assert.throws(
      () => hostStep(m, batch, { ...opts, groups: [{ start: 0, end: 5 }] }),
      /group 0 is \[0, 5\); a group is a non-empty integer row range inside \[0, 4\)/,
    );
    assert.throws(() => hostStep(m, batch, { ...opts, groups: [{ start: 2, end: 2 }] }), /non-empty/);
    assert.throws(
      () =>
        hostStep(m, batch, {
          ...opts,
          groups: [
            { start: 0, end: 3 },
            { start: 2, end: 4 },
          ],
        }),
      /overlaps or precedes group 0/,
    );
    const noTarget = makeTokenBatch([[1, 2, 3], [4]], { padId: 36, seqLen: T });
    assert.throws(
      () =>
        hostStep(m, noTarget, {
          ...opts,
          groups: [
            { start: 0, end: 1 },
            { start: 1, end: 2 },
          ],
        }),
      /group 1 \(rows 1-1\) has no next-token target/,
    );
    m.dispose();
  });
});
