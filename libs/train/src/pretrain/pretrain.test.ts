import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@cola/gl';
import { heldOutWindows, WindowSampler } from './pretrain-corpus';
import { resolvePretrainOptions } from './pretrain-options';
import { unigramBaseline } from './unigram-baseline';
import { pretrain } from './pretrain';
import { renderModelCard } from './model-card';
import { loadRunState } from './pretrain-run-state';

describe('when pretraining options are resolved', () => {
  it('should fill defaults and report every bad field at once', () => {
    assert.equal(resolvePretrainOptions({ steps: 3 }).seqLen, 128);
    assert.throws(
      () => resolvePretrainOptions({ steps: 0, nEmbd: 30, nHead: 4, lr: -1 }),
      (e: Error) =>
        /steps must be a positive integer \(got 0\)/.test(e.message) &&
        /nHead \(4\) must divide nEmbd \(30\)/.test(e.message) &&
        /lr must be > 0/.test(e.message),
    );
    assert.throws(() => resolvePretrainOptions({ stepz: 3 } as never), /unknown option\(s\) stepz/);
  });
});

describe('when pretraining windows and baselines are built', () => {
  const stream = Uint16Array.from({ length: 100 }, (_, i) => i % 7);

  it('should sample the same windows for the same seed, each a slice of the stream', () => {
    const a = new WindowSampler(stream, 10, 5).next(4);
    const b = new WindowSampler(stream, 10, 5).next(4);
    assert.deepEqual(a.ids, b.ids);
    assert.equal(
      a.mask.reduce((s, m) => s + m, 0),
      40,
    );
    for (let r = 0; r < 4; r++) for (let t = 1; t < 10; t++) assert.equal(a.ids[r * 10 + t], (a.ids[r * 10 + t - 1] + 1) % 7);
    assert.throws(() => new WindowSampler(stream.subarray(0, 5), 10, 0), /shorter than one window/);
  });

  it('should spread held-out windows evenly over the whole stream', () => {
    const all = heldOutWindows(stream, 10, 100);
    assert.equal(all.length, 10);
    const some = heldOutWindows(stream, 10, 3);
    // Windows are views into the stream; their offsets (in tokens) show where they start.
    assert.deepEqual(
      some.map((w) => w.byteOffset / Uint16Array.BYTES_PER_ELEMENT),
      [0, 30, 60],
    );
  });

  it('should score the unigram baseline on positions 1..T-1 with add-one smoothing', () => {
    // counts with add-one over a 3-token vocab: id0 3, id1 2, id2 1 (total 6)
    const res = unigramBaseline(Uint16Array.from([0, 0, 1]), [Uint16Array.from([1, 0, 2])], 3);
    assert.equal(res.tokens, 2);
    assert.ok(Math.abs(res.nll - -(Math.log(3 / 6) + Math.log(1 / 6)) / 2) < 1e-12);
    assert.ok(Math.abs(res.perplexity - Math.exp(res.nll)) < 1e-12);
  });
});

describe('when a tiny model is pretrained for a few steps', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should lower the training loss, score held-out text and write a model card with the measured numbers', async () => {
    const start = tf.memory().numTensors;
    const losses: number[] = [];
    const r = await pretrain(
      { steps: 30, batch: 8, seqLen: 32, nEmbd: 16, nLayer: 1, nHead: 2, lr: 1e-2, evalWindows: 16 },
      { onStep: (s) => losses.push(s.loss) },
    );
    assert.equal(losses.length, 30);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(losses.slice(-5)) < mean(losses.slice(0, 5)) - 0.5, `loss ${mean(losses.slice(0, 5))} -> ${mean(losses.slice(-5))}`);
    assert.equal(r.tokensSeen, 30 * 8 * 32);
    assert.equal(r.evalWindows, 16);
    assert.equal(r.heldOut.tokens, 16 * 31);
    assert.equal(r.unigram.tokens, r.heldOut.tokens);
    assert.ok(r.heldOut.perplexity > 1 && r.heldOut.perplexity < 258);
    assert.equal(r.sources.length, 2);
    assert.equal(r.model.trainable, false);
    const card = renderModelCard(r, { command: 'npm run pretrain -- --steps 30', machine: 'test', backend: 'wasm', date: '2026-01-01' });
    assert.match(card, new RegExp(`\\| cola-tiny \\| ${r.heldOut.nll.toFixed(3)} \\|`));
    assert.match(card, new RegExp(`${r.unigram.perplexity.toFixed(2)} \\|`));
    assert.match(card, /npm run pretrain -- --steps 30/);
    r.model.dispose();
    assert.equal(tf.memory().numTensors, start, 'pretraining must free its optimizer state and gradients');
  });
});

describe('when a pretraining run is stopped and started again on its run directory', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should resume at the saved step with its weights, AdamW moments, losses and curve, and keep its options', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cola-pretrain-'));
    try {
      const tiny = { steps: 4, batch: 2, seqLen: 16, nEmbd: 8, nLayer: 1, nHead: 2, lr: 1e-2, evalWindows: 4 };
      const run = { runDir: dir, checkpointEvery: 2, evalEvery: 2, curveWindows: 2 };
      const first = await pretrain(tiny, {}, run);
      first.model.dispose();
      const saved = await loadRunState(dir);
      assert.equal(saved?.step, 4);
      assert.deepEqual(
        saved?.curve.map((p) => p.step),
        [0, 2, 4],
      );
      const steps: number[] = [];
      // A different lr is ignored on resume; only steps may change.
      const second = await pretrain({ ...tiny, steps: 6, lr: 5 }, { onStep: (s) => steps.push(s.step) }, run);
      assert.deepEqual(steps, [5, 6], 'continues after the saved step');
      assert.equal(second.options.lr, 1e-2);
      assert.equal(second.tokensSeen, 6 * 2 * 16);
      assert.deepEqual(
        second.curve.map((p) => p.step),
        [0, 2, 4, 6],
      );
      assert.equal((await loadRunState(dir))?.losses.length, 6);
      const card = renderModelCard(second, { command: 'x', machine: 'test', backend: 'wasm', date: '2026-12-02', name: 'cola-tiny-v2' });
      assert.match(card, /^# cola-tiny-v2/);
      assert.match(card, /\| 6 \| 192 \|/);
      assert.match(card, new RegExp(`\\| cola-tiny-v2 \\| ${second.heldOut.nll.toFixed(3)} \\|`), 'the held-out row names the model');
      assert.match(card, /min training \(every process of the run\)/);
      second.model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
