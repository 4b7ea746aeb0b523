import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf, type AdapterSet } from '@cola/gl';
import { initClassificationHead, initGptModel, type GptModel } from '@cola/model';
import { loadSpamAssassin, SPAM_ASSASSIN_LABELS } from '@cola/data';
import { classificationTask, createRunAdapters, validateFinetuneOptions, type FinetuneOptionsInput, type TaskBatch } from '@cola/train';
import { encodeJobAuxState } from '../state/job-aux-state';
import { ClassifierHeads } from './classifier-heads';
import { JobAux } from './job-aux';
import { runHostStep, type StepOutcome, type StepPart } from './host-step-runner';

const CONFIG = { vocabSize: 258, nPositions: 32, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };
const SEQ = 24;

function tinyModel(): GptModel {
  const m = initGptModel(CONFIG, { seed: 5 });
  initClassificationHead(m, 2, { seed: 5 });
  return m;
}

/** A job's adapters with every parameter random (fresh ones start as a zero change), as an aux version. */
function auxOf(model: GptModel, raw: Omit<FinetuneOptionsInput, 'task'>, seed: number): { aux: JobAux; taps: string[] } {
  const o = validateFinetuneOptions({ ...raw, task: 'classification' });
  const adapters: AdapterSet = createRunAdapters(model, o);
  let i = 0;
  for (const v of adapters.variables().values()) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.2, 'float32', seed * 100 + i++)));
  const bytes = encodeJobAuxState(adapters, {
    jobId: `job-${seed}`,
    version: 3,
    schedule: { peakLr: 1e-3, totalSteps: 10, warmupSteps: 1 },
  });
  const taps = adapters.taps;
  adapters.dispose();
  return { aux: JobAux.fromBytes(bytes, { merged: o.merged }), taps };
}

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.div(tf.max(tf.abs(tf.sub(a, b))), tf.add(tf.max(tf.abs(b)), 1e-12)).dataSync()[0]!);
}

function disposeOutcome(o: StepOutcome): void {
  for (const { x, g } of o.taps.values()) tf.dispose([x, g]);
}

describe('when two tenants share one mixed host step (one lowrank merged, one mlp unmerged)', () => {
  let batches: TaskBatch[];
  before(async () => {
    await initBackend({ log: null });
    const rows = loadSpamAssassin().train.slice(0, 24);
    const data = classificationTask('mix', rows, [], SPAM_ASSASSIN_LABELS);
    batches = [...data.train({ batchSize: 5, maxLength: SEQ, seed: 1, epoch: 0 })].slice(0, 2);
    batches[1] = {
      ...batches[1]!,
      batch: 3,
      ids: batches[1]!.ids.slice(0, 3 * SEQ),
      mask: batches[1]!.mask.slice(0, 3 * SEQ),
      labels: batches[1]!.labels!.slice(0, 3),
    };
  });

  it('should give each tenant the loss, X and G of its solo host step', () => {
    const model = tinyModel();
    const a = auxOf(model, { method: 'cola', merged: true, aux: { type: 'lowrank', rank: 4 } }, 1);
    // Tenant B adapts other modules too: a tap only one tenant adapts must still route correctly.
    const b = auxOf(model, { method: 'cola', aux: { type: 'mlp', hidden: [8] }, targetModules: ['c_attn', 'mlp.c_fc', 'score'] }, 2);
    const partA: StepPart = { batch: batches[0]!, aux: a.aux, taps: a.taps };
    const partB: StepPart = { batch: batches[1]!, aux: b.aux, taps: b.taps };
    let worst = 0;
    const start = tf.memory().numTensors;
    const [soloA] = runHostStep(model, [partA]);
    const [soloB] = runHostStep(model, [partB]);
    const [mixA, mixB] = runHostStep(model, [partA, partB]);
    for (const [name, solo, mix, taps] of [
      ['A', soloA!, mixA!, a.taps],
      ['B', soloB!, mixB!, b.taps],
    ] as const) {
      assert.ok(Math.abs(mix.loss - solo.loss) <= 1e-5 * solo.loss, `tenant ${name}: loss ${mix.loss} vs solo ${solo.loss}`);
      assert.equal(mix.tokens, solo.tokens);
      assert.deepEqual([...mix.taps.keys()], taps, `tenant ${name} gets its own taps in its own order`);
      for (const tap of taps) {
        const s = solo.taps.get(tap)!;
        const m = mix.taps.get(tap)!;
        assert.deepEqual(m.x.shape, s.x.shape);
        assert.ok(maxRelDiff(m.x, s.x) <= 1e-5, `tenant ${name} ${tap}: X differs by ${maxRelDiff(m.x, s.x)}`);
        worst = Math.max(worst, maxRelDiff(m.x, s.x), maxRelDiff(m.g, s.g));
        assert.ok(maxRelDiff(m.g, s.g) <= 1e-4, `tenant ${name} ${tap}: G differs by ${maxRelDiff(m.g, s.g)}`);
      }
    }
    console.log(`mixed vs solo host step: worst relative difference of X and G ${worst.toExponential(2)}`);
    // The aux really matters: without it tenant A's G would differ.
    const plain = { ...partA, aux: auxOf(model, { method: 'cola', merged: true, aux: { type: 'lowrank', rank: 4 } }, 9).aux };
    const [other] = runHostStep(model, [plain]);
    assert.ok(maxRelDiff(other!.taps.get('score')!.g, soloA!.taps.get('score')!.g) > 1e-3);
    for (const o of [soloA!, soloB!, mixA!, mixB!, other!]) disposeOutcome(o);
    plain.aux.dispose();
    assert.equal(tf.memory().numTensors, start, 'the host steps leave no tensor behind');
    a.aux.dispose();
    b.aux.dispose();
    model.dispose();
  });

  it("should route each tenant's own classifier head (another seed) to its rows", () => {
    const model = initGptModel(CONFIG, { seed: 5 });
    const heads = new ClassifierHeads(model);
    const keyA = heads.acquire(2, 7);
    const keyB = heads.acquire(2, 8);
    assert.notEqual(keyA, keyB);
    assert.equal(ClassifierHeads.familyOf(keyA), ClassifierHeads.familyOf(keyB));
    const a = auxOf(model, { method: 'cola', aux: { type: 'lowrank', rank: 4 } }, 3);
    const b = auxOf(model, { method: 'cola', merged: true, aux: { type: 'lowrank', rank: 4 } }, 4);
    const partA: StepPart = { batch: batches[0]!, aux: a.aux, taps: a.taps };
    const partB: StepPart = { batch: batches[1]!, aux: b.aux, taps: b.taps };
    heads.install(keyA);
    const [soloA] = runHostStep(model, [partA]);
    heads.install(keyB);
    const [soloB] = runHostStep(model, [partB]);
    heads.install(keyA);
    const headDelta = heads.correction(keyB, keyA)!;
    assert.equal(heads.correction(keyA, keyA), undefined);
    const [mixA, mixB] = runHostStep(model, [partA, { ...partB, headDelta }]);
    let worst = 0;
    for (const [solo, mix] of [
      [soloA!, mixA!],
      [soloB!, mixB!],
    ] as const) {
      assert.ok(Math.abs(mix.loss - solo.loss) <= 1e-5 * solo.loss, `loss ${mix.loss} vs solo ${solo.loss}`);
      for (const tap of mix.taps.keys()) {
        worst = Math.max(
          worst,
          maxRelDiff(mix.taps.get(tap)!.x, solo.taps.get(tap)!.x),
          maxRelDiff(mix.taps.get(tap)!.g, solo.taps.get(tap)!.g),
        );
      }
    }
    console.log(`two heads in one mixed step vs solo: worst relative difference of X and G ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-4);
    // Without the correction tenant B would be scored by tenant A's head.
    const [wrongA, wrongB] = runHostStep(model, [partA, partB]);
    assert.ok(Math.abs(wrongB!.loss - soloB!.loss) > 1e-6, 'the head correction matters');
    for (const o of [soloA!, soloB!, mixA!, mixB!, wrongA!, wrongB!]) disposeOutcome(o);
    tf.dispose([headDelta.dW, headDelta.db]);
    assert.throws(
      () => runHostStep(model, [{ ...partA, headDelta: heads.correction(keyB, keyA) }]),
      /single tenant runs on its own installed head/,
    );
    a.aux.dispose();
    b.aux.dispose();
    heads.dispose();
    model.dispose();
  });
});
