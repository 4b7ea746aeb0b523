import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gramOf, initBackend, IntervalBuffer, tf, type AdaptationData } from '../index';
import { mulberry32 } from '@cola/data';

const D_IN = 6;
const D_OUT = 4;
const ROWS = [5, 3, 7];

function batch(i: number): { x: tf.Tensor2D; g: tf.Tensor2D } {
  const next = mulberry32(100 + i);
  const r = (n: number) => Float32Array.from({ length: n }, () => 2 * next() - 1);
  return { x: tf.tensor2d(r(ROWS[i]! * D_IN), [ROWS[i]!, D_IN]), g: tf.tensor2d(r(ROWS[i]! * D_OUT), [ROWS[i]!, D_OUT]) };
}

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  const av = a.dataSync();
  const bv = b.dataSync();
  assert.deepEqual(a.shape, b.shape);
  const scale = Math.max(...Array.from(bv, Math.abs));
  return Math.max(...Array.from(av, (v, i) => Math.abs(v - bv[i]!))) / scale;
}

describe('when an interval buffer gathers I = 3 batches', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should hand back the row-wise concatenation of raw data on the third push, then start over', () => {
    const start = tf.memory().numTensors;
    const buffer = new IntervalBuffer({ interval: 3 });
    const batches = ROWS.map((_, i) => batch(i));
    const results: (AdaptationData | undefined)[] = [];
    for (const b of batches) {
      results.push(buffer.push({ kind: 'raw', ...b }));
      assert.equal(buffer.pending, results.at(-1) ? 0 : results.length);
    }
    assert.equal(results[0], undefined);
    assert.equal(results[1], undefined);
    const merged = results[2]!;
    assert.equal(merged.kind, 'raw');
    if (merged.kind !== 'raw') return;
    const wantX = Array.from(batches.flatMap((b) => Array.from(b.x.dataSync())));
    const wantG = Array.from(batches.flatMap((b) => Array.from(b.g.dataSync())));
    assert.deepEqual(merged.x.shape, [15, D_IN]);
    assert.deepEqual(Array.from(merged.x.dataSync()), wantX);
    assert.deepEqual(Array.from(merged.g.dataSync()), wantG);
    batches.forEach((b) => [b.x, b.g].forEach((t) => t.dispose()));
    [merged.x, merged.g].forEach((t) => t.dispose());
    assert.equal(tf.memory().numTensors, start, 'the buffer kept or leaked tensors after handing its data back');
  });

  it('should sum grams into exactly the gram of the concatenation', () => {
    const start = tf.memory().numTensors;
    const buffer = new IntervalBuffer({ interval: 3 });
    const batches = ROWS.map((_, i) => batch(i));
    let merged: AdaptationData | undefined;
    for (const b of batches) {
      const gram = gramOf(b.x, b.g);
      merged = buffer.push(gram);
      // The caller may free what it pushed: the buffer holds its own copy.
      [gram.xtg, gram.colsumG].forEach((t) => t.dispose());
    }
    assert.ok(merged && merged.kind === 'gram');
    const x = tf.concat(batches.map((b) => b.x));
    const g = tf.concat(batches.map((b) => b.g));
    const whole = gramOf(x as tf.Tensor2D, g as tf.Tensor2D);
    const errXtg = maxRelDiff(merged.xtg, whole.xtg);
    const errCol = maxRelDiff(merged.colsumG, whole.colsumG);
    assert.ok(errXtg < 1e-6, `X^T G differs by ${errXtg}`);
    assert.ok(errCol < 1e-6, `colsum G differs by ${errCol}`);
    [merged.xtg, merged.colsumG, whole.xtg, whole.colsumG, x, g].forEach((t) => t.dispose());
    batches.forEach((b) => [b.x, b.g].forEach((t) => t.dispose()));
    assert.equal(tf.memory().numTensors, start);
  });

  it('should free what it holds when disposed mid-interval', () => {
    const buffer = new IntervalBuffer({ interval: 3 });
    const b = batch(0);
    const start = tf.memory().numTensors;
    buffer.push({ kind: 'raw', ...b });
    buffer.push({ kind: 'raw', ...b });
    assert.equal(tf.memory().numTensors, start + 4);
    assert.equal(buffer.dispose(), 4);
    assert.equal(buffer.pending, 0);
    assert.equal(tf.memory().numTensors, start);
    [b.x, b.g].forEach((t) => t.dispose());
  });

  it('should refuse mixing transfer modes or layers within one interval, and a bad interval', () => {
    const buffer = new IntervalBuffer({ interval: 3 });
    const b = batch(0);
    const gram = gramOf(b.x, b.g);
    buffer.push({ kind: 'raw', ...b });
    assert.throws(() => buffer.push(gram), /got gram data \[6 → 4\] after raw data \[6 → 4\]/);
    const other = tf.zeros([5, D_OUT + 1]) as tf.Tensor2D;
    assert.throws(() => buffer.push({ kind: 'raw', x: b.x, g: other }), /after raw data \[6 → 4\]/);
    assert.equal(buffer.pending, 1);
    buffer.dispose();
    [b.x, b.g, gram.xtg, gram.colsumG, other].forEach((t) => t.dispose());
    assert.throws(() => new IntervalBuffer({ interval: 0 }), /interval must be an integer >= 1/);
  });

  it('should pass every batch straight through when I = 1', () => {
    const buffer = new IntervalBuffer({ interval: 1 });
    const b = batch(1);
    const out = buffer.push({ kind: 'raw', ...b });
    assert.ok(out && out.kind === 'raw');
    assert.deepEqual(Array.from(out.x.dataSync()), Array.from(b.x.dataSync()));
    [b.x, b.g, out.x, out.g].forEach((t) => t.dispose());
  });
});
