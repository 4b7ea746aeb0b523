import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@cola/gl';
import { initClassificationHead, initGptModel } from '../weights/gpt-init';
import { resolveTaps, tapShape } from '../taps/taps';
import { forward } from './forward';
import { classificationLoss, lmLoss } from './losses';
import { makeTokenBatch } from './token-batch';

const CONFIG = { vocabSize: 37, nPositions: 24, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('when the forward pass runs', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should not change earlier logits when a later token changes (causal mask)', () => {
    const model = initGptModel(CONFIG, { seed: 3 });
    const a = makeTokenBatch([[1, 2, 3, 4, 5, 6, 7]], { padId: 36 });
    const b = makeTokenBatch([[1, 2, 3, 4, 30, 31, 32]], { padId: 36 });
    const la = tf.tidy(() => forward(model, a, { head: 'lm' })).arraySync()[0];
    const lb = tf.tidy(() => forward(model, b, { head: 'lm' })).arraySync()[0];
    for (let t = 0; t < 4; t++) assert.ok(maxAbsDiff(la[t], lb[t]) < 1e-6, `position ${t} changed`);
    assert.ok(maxAbsDiff(la[4], lb[4]) > 1e-4, 'the changed position itself should change');
    model.dispose();
  });

  it('should give the same cls logits and real-token LM logits whatever the right padding', () => {
    const model = initGptModel(CONFIG, { seed: 4 });
    initClassificationHead(model, 3, { seed: 1 });
    const rows = [
      [5, 6, 7],
      [8, 9, 10, 11, 12],
    ];
    const short = makeTokenBatch(rows, { padId: 36 });
    const padded = makeTokenBatch(rows, { padId: 36, seqLen: 9 });
    padded.ids.fill(20, 3, 9); // pad positions hold arbitrary ids: they must not matter
    const c1 = tf.tidy(() => forward(model, short, { head: 'cls' })).dataSync();
    const c2 = tf.tidy(() => forward(model, padded, { head: 'cls' })).dataSync();
    assert.ok(maxAbsDiff(c1, c2) < 1e-5, `cls logits moved by ${maxAbsDiff(c1, c2)}`);
    const alone = tf.tidy(() => forward(model, makeTokenBatch([rows[0]], { padId: 36 }), { head: 'cls' })).dataSync();
    assert.ok(maxAbsDiff(alone, c1.slice(0, 3)) < 1e-5, 'a row must not depend on the other rows of its batch');
    const l1 = tf.tidy(() => forward(model, short, { head: 'lm' })).arraySync();
    const l2 = tf.tidy(() => forward(model, padded, { head: 'lm' })).arraySync();
    for (let t = 0; t < 5; t++) assert.ok(maxAbsDiff(l1[1][t], l2[1][t]) < 1e-5);
    model.dispose();
  });

  it('should pool the cls head over the mean of real tokens by default and over the last token when asked', () => {
    const model = initGptModel(CONFIG, { seed: 8 });
    initClassificationHead(model, 2, { seed: 1 });
    assert.equal(model.config.clsPooling, 'mean');
    const rows = [
      [5, 6, 7],
      [8, 9, 10, 11, 12],
    ];
    const batch = makeTokenBatch(rows, { padId: 36, seqLen: 8 });
    // The mean of the per-prefix last-token features equals mean pooling: feature of row r at t = last-token feature of its prefix t.
    const feat = (b: ReturnType<typeof makeTokenBatch>, pool: 'last' | 'mean'): number[][] => {
      const cap = new Map<string, tf.Tensor2D>();
      tf.tidy(() => forward(model, b, { head: 'cls', capture: cap, captureTaps: ['score'], clsPooling: pool }));
      const v = cap.get('score')!.arraySync();
      cap.get('score')!.dispose();
      return v;
    };
    const mean = feat(batch, 'mean');
    rows.forEach((row, r) => {
      const prefixes = row.map((_, t) => row.slice(0, t + 1));
      const lasts = feat(makeTokenBatch(prefixes, { padId: 36 }), 'last');
      const expect = lasts[0]!.map((_, k) => lasts.reduce((a, f) => a + f[k]!, 0) / lasts.length);
      assert.ok(maxAbsDiff(mean[r]!, expect) < 1e-5, `row ${r}: mean pooling is off by ${maxAbsDiff(mean[r]!, expect)}`);
    });
    const defaultLogits = tf.tidy(() => forward(model, batch, { head: 'cls' })).dataSync();
    const meanLogits = tf.tidy(() => forward(model, batch, { head: 'cls', clsPooling: 'mean' })).dataSync();
    assert.deepEqual(defaultLogits, meanLogits);
    const last = feat(batch, 'last');
    const lastAlone = feat(makeTokenBatch([rows[1]!], { padId: 36 }), 'last');
    assert.ok(maxAbsDiff(last[1]!, lastAlone[0]!) < 1e-5);
    assert.ok(maxAbsDiff(last[1]!, mean[1]!) > 1e-4, 'last-token and mean pooling must differ');
    model.dispose();
  });

  it('should start near the uniform loss ln(V) and leave no tensor behind', () => {
    const model = initGptModel(CONFIG, { seed: 5 });
    initClassificationHead(model, 3, { seed: 2 });
    const batch = makeTokenBatch(
      [
        [1, 2, 3, 4, 5],
        [6, 7, 8],
      ],
      { padId: 36 },
    );
    const start = tf.memory().numTensors;
    const lm = tf.tidy(() => lmLoss(forward(model, batch, { head: 'lm' }), batch));
    const cls = tf.tidy(() => classificationLoss(forward(model, batch, { head: 'cls' }), Int32Array.from([0, 2])));
    assert.ok(Math.abs(lm.dataSync()[0] - Math.log(37)) < 0.1, `lm loss ${lm.dataSync()[0]}`);
    assert.ok(Math.abs(cls.dataSync()[0] - Math.log(3)) < 0.1, `cls loss ${cls.dataSync()[0]}`);
    lm.dispose();
    cls.dispose();
    assert.equal(tf.memory().numTensors, start);
    model.dispose();
  });

  it('should add an injected aux output and record the tap inputs it was asked for', () => {
    const model = initGptModel(CONFIG, { seed: 6 });
    const batch = makeTokenBatch([[1, 2, 3, 4]], { padId: 36 });
    const tap = 'h.1.mlp.c_proj';
    const capture = new Map<string, tf.Tensor2D>();
    const seen: number[][] = [];
    const base = tf.tidy(() => forward(model, batch, { head: 'lm', capture, captureTaps: [tap] }));
    assert.deepEqual([...capture.keys()], [tap]);
    assert.deepEqual(capture.get(tap)!.shape, [4, 64]);
    // A random aux on the last block's output (a constant one would vanish in ln_f's centring).
    const shifted = tf.tidy(() =>
      forward(model, batch, {
        head: 'lm',
        inject: (t, x) => (t === tap ? (seen.push(x.shape), tf.randomNormal([x.shape[0], 16], 0, 1, 'float32', 1) as tf.Tensor2D) : null),
      }),
    );
    assert.deepEqual(seen, [[4, 64]]);
    assert.ok(maxAbsDiff(base.dataSync(), shifted.dataSync()) > 1e-3);
    tf.dispose([base, shifted, ...capture.values()]);
    model.dispose();
  });

  it('should reject bad input with messages that say what to fix', () => {
    const model = initGptModel(CONFIG, { seed: 7 });
    const ok = makeTokenBatch([[1, 2]], { padId: 36 });
    assert.throws(
      () => forward(model, makeTokenBatch([Array(30).fill(1)], { padId: 36 }), { head: 'lm' }),
      /seqLen 30 exceeds the model's nPositions 24/,
    );
    assert.throws(
      () => forward(model, { ...ok, ids: Int32Array.from([1, 99]) }, { head: 'lm' }),
      /id 99 at row 0, position 1 is outside the vocabulary \[0, 37\)/,
    );
    assert.throws(() => forward(model, ok, { head: 'cls' }), /call initClassificationHead/);
    const bad = new Map([['h.0.attn.c_attn', { dW: tf.zeros([16, 16]) as tf.Tensor2D }]]);
    assert.throws(() => forward(model, ok, { head: 'lm', deltas: bad }), /dW has shape \[16,16\], expected \[dIn, dOut\] = \[16, 48\]/);
    tf.dispose(bad.get('h.0.attn.c_attn')!.dW);
    model.dispose();
  });
});

describe('when target modules are resolved to taps', () => {
  it('should expand suffixes in forward order and give each tap its widths', () => {
    const cfg = { ...CONFIG, numLabels: 3 };
    assert.deepEqual(resolveTaps(cfg, ['score', 'c_attn']), ['h.0.attn.c_attn', 'h.1.attn.c_attn', 'score']);
    assert.deepEqual(resolveTaps(cfg, ['mlp.c_proj']), ['h.0.mlp.c_proj', 'h.1.mlp.c_proj']);
    assert.equal(resolveTaps(cfg, ['c_proj']).length, 4);
    assert.deepEqual(tapShape(cfg, 'h.1.mlp.c_fc'), { dIn: 16, dOut: 64 });
    assert.deepEqual(tapShape(cfg, 'h.0.mlp.c_proj'), { dIn: 64, dOut: 16 });
    assert.deepEqual(tapShape(cfg, 'score'), { dIn: 16, dOut: 3 });
  });

  it('should reject an unknown target and list the valid ones', () => {
    assert.throws(
      () => resolveTaps(CONFIG, ['q_proj']),
      /Unknown target module\(s\) "q_proj"\. Valid targets: c_attn, attn\.c_proj, c_fc, mlp\.c_proj, c_proj/,
    );
    assert.throws(() => resolveTaps(CONFIG, ['score']), /no classification head: call initClassificationHead first/);
    assert.throws(() => tapShape(CONFIG, 'h.5.attn.c_attn'), /not a tap of this model/);
    assert.throws(() => resolveTaps(CONFIG, []), /targetModules is empty/);
  });
});
