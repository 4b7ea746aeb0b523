import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdapterSet, initBackend, tf } from '@cola/gl';
import { loadSpamAssassin, SPAM_ASSASSIN_LABELS } from '@cola/data';
import { classificationTask, validateFinetuneOptions } from '@cola/train';
import { encodeJobAuxState } from '../state/job-aux-state';
import type { TransferSpec } from '../transfer/transfer-spec';
import { BatchCursor } from './batch-cursor';
import { HostJob } from './host-job';
import type { StepOutcome } from './host-step-runner';
import { JobAux } from './job-aux';

const TAPS = ['h.0.attn.c_attn', 'score'];
const SHAPES: Record<string, [number, number]> = { 'h.0.attn.c_attn': [16, 48], score: [16, 2] };

function auxAt(version: number): JobAux {
  const adapters = AdapterSet.create({
    layers: TAPS.map((tap) => ({ tap, dIn: SHAPES[tap]![0], dOut: SHAPES[tap]![1], aux: { type: 'lowrank', rank: 2 } })),
    optimizer: { type: 'adamw', lr: 1e-3 },
    seed: 1,
  });
  const bytes = encodeJobAuxState(adapters, { jobId: 'j', version, schedule: { peakLr: 1e-3, totalSteps: 10, warmupSteps: 0 } });
  adapters.dispose();
  return JobAux.fromBytes(bytes, { merged: false });
}

function job(opts: { interval: number; staleness: number; transfer: TransferSpec }): HostJob {
  const data = classificationTask('t', loadSpamAssassin().train.slice(0, 40), [], SPAM_ASSASSIN_LABELS);
  const options = validateFinetuneOptions({ method: 'cola', task: 'classification', interval: opts.interval, batchSize: 4, maxLength: 8 });
  const cursor = new BatchCursor(data, { batchSize: 4, maxLength: 8, seed: 0, total: 10, start: 0 });
  return new HostJob({
    jobId: 'j',
    tenantId: 't',
    options,
    transfer: opts.transfer,
    staleness: opts.staleness,
    data,
    cursor,
    headKey: 'cls:2:base',
    taps: TAPS,
    numTasks: Math.floor(10 / opts.interval),
    totalBatches: 10,
    nextSeq: 0,
    aux: auxAt(0),
    tokens: 0,
    bytes: 0,
  });
}

/** A fake host-step outcome with seeded X and G of `rows` rows per tap. */
function outcome(seed: number, rows = 3): StepOutcome {
  const taps = new Map(
    TAPS.map((tap, i) => [
      tap,
      {
        x: tf.randomNormal([rows, SHAPES[tap]![0]], 0, 1, 'float32', seed * 10 + i) as tf.Tensor2D,
        g: tf.randomNormal([rows, SHAPES[tap]![1]], 0, 1, 'float32', seed * 10 + i + 5) as tf.Tensor2D,
      },
    ]),
  );
  return { loss: seed, tokens: 10 * seed, taps, timings: { forwardMs: 1, backwardMs: 2 } };
}

function copy(o: StepOutcome): StepOutcome {
  return { ...o, taps: new Map([...o.taps].map(([k, { x, g }]) => [k, { x: tf.clone(x), g: tf.clone(g) }])) };
}

function maxAbs(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('when a job buffers host steps into fit tasks', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should publish one task per I batches: summed X^T G and colsum G in gram mode', () => {
    const start = tf.memory().numTensors;
    const j = job({ interval: 3, staleness: 1, transfer: { mode: 'gram', dtype: 'fp32' } });
    const outs = [outcome(1), outcome(2), outcome(3)];
    const kept = outs.map(copy);
    assert.equal(j.absorb(outs[0]!), undefined);
    assert.equal(j.absorb(outs[1]!), undefined);
    assert.ok(j.midInterval);
    const p = j.absorb(outs[2]!)!;
    assert.deepEqual(
      { seq: p.seq, auxVersion: p.auxVersion, numBatches: p.numBatches, tokens: p.tokens, loss: p.loss },
      { seq: 0, auxVersion: 0, numBatches: 3, tokens: 60, loss: 2 },
    );
    for (const tap of TAPS) {
      const d = p.layers.get(tap)!;
      assert.equal(d.kind, 'gram');
      if (d.kind !== 'gram') continue;
      const want = tf.tidy(() => tf.addN(kept.map((o) => tf.matMul(o.taps.get(tap)!.x, o.taps.get(tap)!.g, true, false))));
      const wantCol = tf.tidy(() => tf.addN(kept.map((o) => tf.sum(o.taps.get(tap)!.g, 0))));
      assert.ok(maxAbs(d.xtg, want) < 1e-5, `${tap} X^T G`);
      assert.ok(maxAbs(d.colsumG, wantCol) < 1e-5, `${tap} colsum G`);
      tf.dispose([want, wantCol, d.xtg, d.colsumG]);
    }
    for (const o of kept) for (const { x, g } of o.taps.values()) tf.dispose([x, g]);
    assert.equal(j.nextSeq, 1);
    j.dispose();
    assert.equal(tf.memory().numTensors, start, 'no tensor left behind');
  });

  it('should concatenate raw (X, G) rows in activations mode', () => {
    const j = job({ interval: 2, staleness: 1, transfer: { mode: 'activations', dtype: 'fp32' } });
    const a = outcome(4, 3);
    const b = outcome(5, 2);
    const want = tf.concat([a.taps.get('score')!.g, b.taps.get('score')!.g], 0);
    j.absorb(a);
    const p = j.absorb(b)!;
    const d = p.layers.get('score')!;
    assert.equal(d.kind, 'raw');
    if (d.kind === 'raw') {
      assert.deepEqual(d.x.shape, [5, 16]);
      assert.ok(maxAbs(d.g, want) === 0);
    }
    for (const l of p.layers.values()) tf.dispose(l.kind === 'raw' ? [l.x, l.g] : [l.xtg, l.colsumG]);
    want.dispose();
    j.dispose();
  });

  it('should keep at most K tasks in flight and hold an aux version fixed for a whole interval', () => {
    const j = job({ interval: 2, staleness: 2, transfer: { mode: 'gram', dtype: 'fp32' } });
    const drop = (p: ReturnType<HostJob['absorb']>): void =>
      p?.layers.forEach((l) => tf.dispose(l.kind === 'raw' ? [l.x, l.g] : [l.xtg, l.colsumG]));
    assert.ok(j.ready);
    j.absorb(outcome(1));
    // A new version arriving mid-interval waits for the interval's end.
    assert.equal(j.offerAux(auxAt(1)), true);
    assert.equal(j.aux.version, 0);
    assert.equal(j.auxVersion, 1);
    const p0 = j.absorb(outcome(2))!;
    assert.equal(p0.auxVersion, 0, 'every batch of task 0 used version 0');
    assert.equal(j.aux.version, 1, 'swapped in when the interval ended');
    drop(p0);
    assert.equal(j.inFlight, 0);
    drop(j.absorb(outcome(3)));
    drop(j.absorb(outcome(4)));
    assert.equal(j.inFlight, 1);
    assert.ok(j.ready, 'one task in flight < K = 2');
    drop(j.absorb(outcome(5)));
    drop(j.absorb(outcome(6)));
    assert.equal(j.inFlight, 2);
    assert.equal(j.ready, false, 'K = 2 tasks in flight: wait for a version');
    assert.equal(j.offerAux(auxAt(1)), false, 'an old version is ignored');
    assert.equal(j.offerAux(auxAt(2)), true);
    assert.equal(j.inFlight, 1);
    assert.ok(j.ready);
    j.stopReason = 'cancelled';
    assert.equal(j.ready, false);
    j.dispose();
  });
});
