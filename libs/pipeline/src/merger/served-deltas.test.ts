import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf, type AdapterDelta } from '@cola/gl';
import { decodeServedRecord, encodeServedRecord, meanDeltas, ServedRecordError, type ServedMeta } from './served-deltas';

const meta: ServedMeta = {
  jobId: 'job-1',
  tenantId: 'tenant-a',
  baseModel: 'cola-tiny',
  version: 4,
  mergeable: true,
  mergeGroup: 'g',
  updatedAtMs: 1234,
};

function delta(seed: number, withBias: boolean): AdapterDelta {
  const dW = tf.randomNormal<tf.Rank.R2>([3, 5], 0, 1, 'float32', seed);
  return withBias ? { dW, db: tf.randomNormal<tf.Rank.R1>([5], 0, 1, 'float32', seed + 1) } : { dW };
}

function dispose(m: ReadonlyMap<string, AdapterDelta>): void {
  for (const d of m.values()) tf.dispose([d.dW, ...(d.db ? [d.db] : [])]);
}

describe('the served record codec', () => {
  before(() => initBackend());

  describe('when a record is encoded and decoded', () => {
    it('should give back the meta and every delta bit for bit, with <tap>.dW / <tap>.db tensor names', () => {
      const deltas = new Map([
        ['h.0.attn.c_attn', delta(1, false)],
        ['score', delta(2, true)],
      ]);
      const bytes = encodeServedRecord(meta, deltas);
      const header = JSON.parse(
        new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)))),
      ) as Record<string, unknown>;
      assert.deepEqual(
        Object.keys(header)
          .filter((k) => k !== '__metadata__')
          .sort(),
        ['h.0.attn.c_attn.dW', 'score.dW', 'score.db'],
      );
      const back = decodeServedRecord(bytes);
      assert.deepEqual(back.meta, meta);
      for (const [tap, d] of deltas) {
        assert.deepEqual(back.deltas.get(tap)!.dW.dataSync(), d.dW.dataSync());
        assert.deepEqual(back.deltas.get(tap)!.db?.dataSync(), d.db?.dataSync());
      }
      dispose(deltas);
      dispose(back.deltas);
    });

    it('should refuse bytes that are no served record', () => {
      assert.throws(() => decodeServedRecord(new Uint8Array(4)), ServedRecordError);
      const other = encodeServedRecord(meta).slice();
      // Same container, foreign format tag (same length, so the header stays valid).
      const at = Buffer.from(other).indexOf('cola-served-v1');
      other[at + 'cola-served-v'.length] = '9'.charCodeAt(0);
      assert.throws(() => decodeServedRecord(other), /is not a served record \(format "cola-served-v9"/);
    });
  });

  describe('when members of a merge group are averaged', () => {
    it('should give mean_k dW_k over K members, a member without a tap counting as zero', () => {
      const a = new Map([
        ['t', delta(3, true)],
        ['u', delta(4, false)],
      ]);
      const b = new Map([['t', delta(5, true)]]);
      const before = tf.memory().numTensors;
      const mean = meanDeltas([a, b], 3);
      const expectT = tf.tidy(() => tf.div(tf.add(a.get('t')!.dW, b.get('t')!.dW), 3));
      const expectTb = tf.tidy(() => tf.div(tf.add(a.get('t')!.db!, b.get('t')!.db!), 3));
      const expectU = tf.tidy(() => tf.div(a.get('u')!.dW, 3));
      assert.deepEqual(mean.get('t')!.dW.dataSync(), expectT.dataSync());
      assert.deepEqual(mean.get('t')!.db!.dataSync(), expectTb.dataSync());
      assert.deepEqual(mean.get('u')!.dW.dataSync(), expectU.dataSync());
      assert.equal(mean.get('u')!.db, undefined);
      dispose(mean);
      tf.dispose([expectT, expectTb, expectU]);
      assert.equal(tf.memory().numTensors, before);
      assert.throws(() => meanDeltas([a, b], 1), /memberCount must be an integer >= 2/);
      dispose(a);
      dispose(b);
    });
  });
});
