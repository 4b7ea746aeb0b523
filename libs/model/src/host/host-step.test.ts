import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@cola/gl';
import { forward, type InjectFn, type TapDelta } from '../forward/forward';
import { classificationLoss, lmLoss } from '../forward/losses';
import { makeTokenBatch } from '../forward/token-batch';
import { initClassificationHead, initGptModel } from '../weights/gpt-init';
import type { GptModel } from '../weights/gpt-model';
import { tapShape } from '../taps/taps';
import { hostStep } from './host-step';

// Sizes chosen so that no activation has the shape of a weight or of a transposed weight:
// B = 4 rows, B*T = 28, T = 7 < P = 24, V = 37, d = 16, numLabels = 3, lowrank rank 5.
const CONFIG = { vocabSize: 37, nPositions: 24, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };
const ROWS = [
  [1, 2, 3, 4, 5, 6, 7],
  [8, 9, 10, 11],
  [12, 13, 14, 15, 16, 17],
  [20, 21],
];
const LABELS = Int32Array.from([0, 2, 1, 1]);
const TAPS = ['h.0.attn.c_attn', 'h.1.mlp.c_fc', 'h.1.mlp.c_proj', 'score'];

function relErr(a: tf.Tensor, b: tf.Tensor): number {
  assert.ok(a && b, 'both tensors must exist');
  const norm = (t: tf.Tensor): tf.Tensor => tf.sqrt(tf.sum(tf.square(t)));
  return tf.tidy(() => tf.div(norm(tf.sub(a, b)), tf.add(norm(b), 1e-12)).dataSync()[0]);
}

function build(seed: number): GptModel {
  const model = initGptModel(CONFIG, { seed });
  initClassificationHead(model, 3, { seed });
  return model;
}

/** A lowrank aux s * X A B per tap, with non-zero B so the aux changes the output. */
function lowrankAux(model: GptModel, taps: readonly string[]): { inject: InjectFn; deltas: Map<string, TapDelta>; vars: tf.Variable[] } {
  const ab = new Map<string, [tf.Variable, tf.Variable]>();
  taps.forEach((t, i) => {
    const { dIn, dOut } = tapShape(model.config, t);
    ab.set(t, [
      tf.variable(tf.randomNormal([dIn, 5], 0, 0.3, 'float32', 100 + i)),
      tf.variable(tf.randomNormal([5, dOut], 0, 0.3, 'float32', 200 + i)),
    ]);
  });
  const inject: InjectFn = (tap, x) => {
    const p = ab.get(tap);
    return p ? (tf.matMul(tf.matMul(x, p[0]), p[1]) as tf.Tensor2D) : null;
  };
  const deltas = new Map<string, TapDelta>();
  for (const [t, [a, b]] of ab)
    deltas.set(t, { dW: tf.matMul(a, b) as tf.Tensor2D, db: tf.fill([tapShape(model.config, t).dOut], 0.01) as tf.Tensor1D });
  return { inject, deltas, vars: [...ab.values()].flat() };
}

describe('when the host step computes adaptation data', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should return G whose X^T G and column sums equal the weight and bias gradients of ordinary back-propagation', () => {
    for (const head of ['cls', 'lm'] as const) {
      const model = build(21);
      const aux = lowrankAux(model, TAPS);
      const batch = makeTokenBatch(ROWS, { padId: 36 });
      const taps = head === 'cls' ? TAPS : TAPS.filter((t) => t !== 'score');
      const res = hostStep(model, batch, { head, labels: LABELS, taps, inject: aux.inject });

      // Independent route: back-propagate the same loss into the base weights themselves.
      model.trainable = true;
      const weightNames = taps.flatMap((t) => [`${t === 'score' ? 'score' : t}.weight`, `${t}.bias`]);
      const { value, grads } = tf.variableGrads(
        () => {
          const logits =
            head === 'cls' ? forward(model, batch, { head, inject: aux.inject }) : forward(model, batch, { head, inject: aux.inject });
          return head === 'cls' ? classificationLoss(logits as tf.Tensor2D, LABELS) : lmLoss(logits as tf.Tensor3D, batch);
        },
        weightNames.map((n) => model.weight(n)),
      );
      model.trainable = false;
      assert.ok(Math.abs(value.dataSync()[0] - res.loss) < 1e-6, `${head}: loss ${res.loss} vs ${value.dataSync()[0]}`);
      for (const t of taps) {
        const { x, g } = res.taps.get(t)!;
        const dW = grads[model.weight(`${t}.weight`).name];
        const db = grads[model.weight(`${t}.bias`).name];
        // score.weight is stored [out, in], so its gradient is G^T X.
        const fromG = tf.tidy(() => (t === 'score' ? tf.matMul(g, x, true, false) : tf.matMul(x, g, true, false)));
        const colsum = tf.tidy(() => tf.sum(g, 0));
        assert.ok(relErr(fromG, dW) < 1e-5, `${head} ${t}: X^T G vs dL/dW rel err ${relErr(fromG, dW)}`);
        assert.ok(relErr(colsum, db) < 1e-5, `${head} ${t}: colsum G vs dL/db rel err ${relErr(colsum, db)}`);
        tf.dispose([fromG, colsum]);
      }
      if (head === 'cls') {
        // Analytic check at the head: dL/dlogits = (softmax - onehot) / B.
        const expected = tf.tidy(() => {
          const logits = forward(model, batch, { head: 'cls', inject: aux.inject });
          return tf.div(tf.sub(tf.softmax(logits), tf.cast(tf.oneHot(tf.tensor1d(LABELS, 'int32'), 3), 'float32')), LABELS.length);
        });
        assert.ok(relErr(res.taps.get('score')!.g, expected) < 1e-5);
        expected.dispose();
      }
      tf.dispose([value, ...Object.values(grads), ...[...res.taps.values()].flatMap((a) => [a.x, a.g]), ...aux.vars]);
      tf.dispose([...aux.deltas.values()].flatMap((d) => [d.dW, d.db!]));
      model.dispose();
    }
  });

  it('should give the same loss and G in merged mode as with X dW + db injected', () => {
    const model = build(22);
    const aux = lowrankAux(model, TAPS);
    const batch = makeTokenBatch(ROWS, { padId: 36 });
    const asInjection: InjectFn = (tap, x) => {
      const d = aux.deltas.get(tap);
      return d ? (tf.add(tf.matMul(x, d.dW), d.db!) as tf.Tensor2D) : null;
    };
    const unmerged = hostStep(model, batch, { head: 'cls', labels: LABELS, taps: TAPS, inject: asInjection });
    const merged = hostStep(model, batch, { head: 'cls', labels: LABELS, taps: TAPS, deltas: aux.deltas });
    assert.ok(Math.abs(unmerged.loss - merged.loss) < 1e-5, `loss ${unmerged.loss} vs ${merged.loss}`);
    for (const t of TAPS) {
      const u = unmerged.taps.get(t)!;
      const m = merged.taps.get(t)!;
      assert.ok(relErr(m.g, u.g) < 1e-5, `${t}: G rel err ${relErr(m.g, u.g)}`);
      assert.ok(relErr(m.x, u.x) < 1e-5, `${t}: X rel err ${relErr(m.x, u.x)}`);
    }
    tf.dispose([...unmerged.taps.values(), ...merged.taps.values()].flatMap((a) => [a.x, a.g]));
    tf.dispose([...aux.vars, ...[...aux.deltas.values()].flatMap((d) => [d.dW, d.db!])]);
    model.dispose();
  });

  it('should compute no base-weight and no aux-parameter gradient, and free everything it does not return', async () => {
    const model = build(23);
    const aux = lowrankAux(model, TAPS);
    const batch = makeTokenBatch(ROWS, { padId: 36 });
    const key = (s: number[]): string => s.join('x');
    // A weight's gradient has the weight's shape, or its transpose if computed that way round.
    const likeShapes = (shapes: number[][]): Set<string> => new Set(shapes.flatMap((s) => [key(s), key([...s].reverse())]));
    const weightShapes = likeShapes(model.names().map((n) => model.weight(n).shape));
    const auxShapes = likeShapes(aux.vars.map((v) => v.shape));
    // Kernels that only copy or relayout an existing tensor compute nothing: the engine's Identity
    // copies of tensors saved for backward (weights included), and the Transpose/Cast/Reshape of a
    // weight that the input gradient dX = dY W^T needs. Every other kernel is checked.
    const RELAYOUT = new Set(['Identity', 'Transpose', 'Cast', 'Reshape']);
    const outputShapes = async (f: () => void): Promise<Set<string>> => {
      const info = await tf.profile(f);
      return new Set(info.kernels.filter((k) => !RELAYOUT.has(k.name)).flatMap((k) => k.outputShapes.map((s) => key(s))));
    };

    const start = tf.memory().numTensors;
    let returned = 0;
    const host = await outputShapes(() => {
      const res = hostStep(model, batch, { head: 'cls', labels: LABELS, taps: TAPS, inject: aux.inject });
      returned = res.taps.size * 2;
      tf.dispose([...res.taps.values()].flatMap((a) => [a.x, a.g]));
    });
    assert.equal(returned, 8);
    assert.equal(tf.memory().numTensors, start, 'the host step must free every tensor it does not hand back');
    const leaked = [...host].filter((s) => weightShapes.has(s) || auxShapes.has(s));
    assert.deepEqual(leaked, [], `kernels produced weight-shaped tensors: ${leaked.join(', ')}`);

    // Control: ordinary back-propagation into the same weights does produce those shapes, so the
    // check above can see a weight gradient when there is one.
    model.trainable = true;
    const full = await outputShapes(() => {
      const { value, grads } = tf.variableGrads(
        () => classificationLoss(forward(model, batch, { head: 'cls', inject: aux.inject }), LABELS),
        [...model.variables(), ...aux.vars],
      );
      tf.dispose([value, ...Object.values(grads)]);
    });
    for (const v of [...model.variables(), ...aux.vars]) {
      const s = v.shape;
      assert.ok(full.has(key(s)) || full.has(key([...s].reverse())), `control run should produce the gradient shape ${key(s)}`);
    }
    tf.dispose([...aux.vars, ...[...aux.deltas.values()].flatMap((d) => [d.dW, d.db!])]);
    model.dispose();
  });

  it('should report its forward and backward milliseconds, which together fit inside the call', () => {
    const model = build(25);
    const batch = makeTokenBatch(ROWS, { padId: 36 });
    const t0 = performance.now();
    const res = hostStep(model, batch, { head: 'cls', labels: LABELS, taps: TAPS });
    const wall = performance.now() - t0;
    const { forwardMs, backwardMs } = res.timings;
    assert.ok(forwardMs > 0 && backwardMs > 0, `forward ${forwardMs} ms and backward ${backwardMs} ms must both be measured`);
    assert.ok(forwardMs + backwardMs <= wall, `forward + backward (${forwardMs + backwardMs} ms) must not exceed the call (${wall} ms)`);
    for (const { x, g } of res.taps.values()) tf.dispose([x, g]);
    model.dispose();
  });

  it('should reject bad requests with clear messages', () => {
    const model = build(24);
    const batch = makeTokenBatch(ROWS, { padId: 36 });
    assert.throws(() => hostStep(model, batch, { head: 'cls', taps: ['score'] }), /head "cls" needs labels/);
    assert.throws(() => hostStep(model, batch, { head: 'lm', taps: ['score'] }), /tap "score" only exists for head "cls"/);
    assert.throws(() => hostStep(model, batch, { head: 'lm', taps: [] }), /taps is empty/);
    assert.throws(() => hostStep(model, batch, { head: 'lm', taps: ['h.0.attn.c_attn', 'h.0.attn.c_attn'] }), /duplicates/);
    assert.throws(() => hostStep(model, batch, { head: 'lm', taps: ['h.9.mlp.c_fc'] }), /not a tap of this model/);
    model.dispose();
  });
});
