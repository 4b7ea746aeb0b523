import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gramOf, initBackend, tf, validateAuxConfig, type AdaptationData } from '@cola/gl';
import { tensorRefFor, type AdaptationTask } from '@cola/proto';
import { decodeAdaptation } from './adaptation-decoder';
import { encodeAdaptation, type AdaptationHeader } from './adaptation-encoder';
import { validateTransferSpec } from './transfer-spec';

const header: AdaptationHeader = { jobId: 'job-1', tenantId: 'tenant-a', seq: 4, auxVersion: 4, numBatches: 1, tokens: 96, loss: 0.69 };

function raw(rows: number, dIn: number, dOut: number, seed: number): AdaptationData {
  return {
    kind: 'raw',
    x: tf.randomNormal([rows, dIn], 0, 1, 'float32', seed) as tf.Tensor2D,
    g: tf.randomNormal([rows, dOut], 0, 0.01, 'float32', seed + 1) as tf.Tensor2D,
  };
}

function taskFor(bytes: Uint8Array): AdaptationTask {
  return {
    jobId: header.jobId,
    tenantId: header.tenantId,
    seq: header.seq,
    auxVersion: header.auxVersion,
    payload: tensorRefFor('cola:payload:job-1:4', bytes),
  };
}

function maxRelErr(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i]! - y[i]!) ** 2;
    den += y[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

describe('when adaptation data cross the wire', () => {
  before(() => initBackend({ log: null }));

  it('should carry fp32 activations bit-exactly', () => {
    const data = raw(12, 8, 24, 1);
    const bytes = encodeAdaptation(header, new Map([['h.0.attn.c_attn', data]]), { mode: 'activations', dtype: 'fp32' });
    const back = decodeAdaptation(bytes, taskFor(bytes));
    assert.equal(back.batch.seq, 4);
    const got = back.layers.get('h.0.attn.c_attn')!;
    assert.equal(got.kind, 'raw');
    if (got.kind !== 'raw' || data.kind !== 'raw') return;
    assert.deepEqual(got.x.dataSync(), data.x.dataSync());
    assert.deepEqual(got.g.dataSync(), data.g.dataSync());
    tf.dispose([got.x, got.g, data.x, data.g]);
  });

  it('should ship the gram in place of X and G, with a size independent of the rows', () => {
    const sizes = [16, 256].map((rows) => {
      const data = raw(rows, 8, 24, rows);
      const bytes = encodeAdaptation(header, new Map([['t', data]]), { mode: 'gram', dtype: 'fp32' });
      const back = decodeAdaptation(bytes).layers.get('t')!;
      if (back.kind !== 'gram' || data.kind !== 'raw') throw new Error('expected gram');
      const ref = gramOf(data.x, data.g);
      assert.ok(maxRelErr(back.xtg, ref.xtg) < 1e-6);
      assert.ok(maxRelErr(back.colsumG, ref.colsumG) < 1e-6);
      tf.dispose([back.xtg, back.colsumG, ref.xtg, ref.colsumG, data.x, data.g]);
      return bytes.byteLength;
    });
    assert.equal(sizes[0], sizes[1], 'gram payload size must not depend on the number of rows');
  });

  it('should halve the bytes in fp16 and bf16 at a small, bounded error', () => {
    const data = raw(64, 8, 24, 9);
    const layers = new Map([['t', data]]);
    const b32 = encodeAdaptation(header, layers, { mode: 'activations', dtype: 'fp32' });
    for (const dtype of ['fp16', 'bf16'] as const) {
      const b = encodeAdaptation(header, layers, { mode: 'activations', dtype });
      assert.ok(b.byteLength < 0.55 * b32.byteLength, `${dtype} is about half of fp32`);
      const got = decodeAdaptation(b).layers.get('t')!;
      if (got.kind !== 'raw' || data.kind !== 'raw') throw new Error('expected raw');
      assert.ok(maxRelErr(got.g, data.g) < (dtype === 'fp16' ? 1e-3 : 8e-3), `${dtype} error`);
      tf.dispose([got.x, got.g]);
    }
    if (data.kind === 'raw') tf.dispose([data.x, data.g]);
  });

  it('should refuse a truncated or tampered payload with a readable reason', () => {
    const data = raw(4, 8, 24, 3);
    const bytes = encodeAdaptation(header, new Map([['t', data]]), { mode: 'activations', dtype: 'fp32' });
    assert.throws(() => decodeAdaptation(bytes.subarray(0, bytes.length - 10), taskFor(bytes)), /truncated|size|bytes/i);
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 3]! ^= 0xff;
    assert.throws(() => decodeAdaptation(flipped, taskFor(bytes)), /sha256|checksum/i);
    if (data.kind === 'raw') tf.dispose([data.x, data.g]);
  });
});

describe('when a transfer spec is checked against the aux', () => {
  it('should refuse gram with an mlp or with dropout, and accept it for lowrank and linear', () => {
    const mlp = validateAuxConfig({ type: 'mlp', hidden: [8] });
    const drop = validateAuxConfig({ type: 'lowrank', rank: 2, dropout: 0.1 });
    assert.throws(() => validateTransferSpec({ mode: 'gram' }, [mlp]), /gram transfer is not possible with a mlp aux/);
    assert.throws(() => validateTransferSpec({ mode: 'gram' }, [drop]), /dropout/);
    assert.deepEqual(
      validateTransferSpec({ mode: 'gram', dtype: 'bf16' }, [
        validateAuxConfig({ type: 'lowrank' }),
        validateAuxConfig({ type: 'linear', bias: true }),
      ]),
      { mode: 'gram', dtype: 'bf16' },
    );
    assert.throws(() => validateTransferSpec({ dtype: 'fp8' as 'fp16' }, []), /fp32, fp16 or bf16/);
  });
});

describe('when gram data cross the wire in a dtype decoded through the shared scratch buffer', () => {
  before(() => initBackend({ log: null }));

  for (const dtype of ['fp16', 'bf16'] as const) {
    it(`should give back colsum G and X^T G each as encoded (${dtype}), not one overwritten by the other`, () => {
      const data = raw(32, 8, 24, 7);
      if (data.kind !== 'raw') return;
      const bytes = encodeAdaptation(header, new Map([['t', data]]), { mode: 'gram', dtype });
      const back = decodeAdaptation(bytes, taskFor(bytes)).layers.get('t')!;
      assert.equal(back.kind, 'gram');
      if (back.kind !== 'gram') return;
      const ref = gramOf(data.x, data.g);
      // Half precision: a few parts in a thousand at most; an overwritten tensor is off by far more.
      assert.ok(maxRelErr(back.colsumG, ref.colsumG) < 1e-2, `colsum G error ${maxRelErr(back.colsumG, ref.colsumG)}`);
      assert.ok(maxRelErr(back.xtg, ref.xtg) < 1e-2, `X^T G error ${maxRelErr(back.xtg, ref.xtg)}`);
      tf.dispose([back.xtg, back.colsumG, ref.xtg, ref.colsumG, data.x, data.g]);
    });
  }
});
