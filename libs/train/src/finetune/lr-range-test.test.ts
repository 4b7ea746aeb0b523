import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lrRangeSchedule, pickRangeTestLr } from './lr-range-test';

describe('when a learning-rate range test is laid out', () => {
  it('should be geometric from minLr to maxLr', () => {
    const lrs = lrRangeSchedule({ minLr: 1e-4, maxLr: 1e-1, steps: 4 });
    [1e-4, 1e-3, 1e-2, 1e-1].forEach((want, i) => assert.ok(Math.abs(lrs[i]! / want - 1) < 1e-9, `step ${i}: ${lrs[i]}`));
    assert.equal(lrRangeSchedule().length, 12);
    assert.throws(() => lrRangeSchedule({ minLr: 1e-2, maxLr: 1e-3 }), /0 < minLr < maxLr/);
  });
});

describe('when a range test is read', () => {
  const lrs = lrRangeSchedule({ minLr: 1e-4, maxLr: 1e-1, steps: 7 }); // 1e-4, 3.2e-4, 1e-3, ..., 1e-1
  const cases: { name: string; losses: number[]; lr: number | undefined; why: RegExp }[] = [
    {
      name: 'a loss that falls then blows up: a tenth of the rate at the minimum',
      losses: [0.69, 0.69, 0.68, 0.6, 0.45, 0.9, 5],
      lr: 1e-3,
      why: /minimum .* at lr 0\.010; a tenth/,
    },
    {
      name: 'a loss still falling at the top rate: a tenth of the top rate',
      losses: [0.69, 0.68, 0.66, 0.62, 0.55, 0.45, 0.3],
      lr: 1e-2,
      why: /at lr 0\.10/,
    },
    {
      name: 'a flat loss: no rate (keep the default)',
      losses: [0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69],
      lr: undefined,
      why: /did not fall/,
    },
    { name: 'a loss that only rises: no rate', losses: [0.69, 0.7, 0.8, 1, 2, 4, 9], lr: undefined, why: /did not fall/ },
    {
      name: 'a NaN once the rate is too high: read up to it',
      losses: [1.1, 1.05, 0.95, 0.8, NaN, NaN, NaN],
      lr: 3.2e-4,
      why: /at lr 0\.0032/,
    },
    { name: 'too few steps: no rate', losses: [0.7, 0.6], lr: undefined, why: /at least 3 steps/ },
  ];
  for (const c of cases) {
    it(`should handle ${c.name}`, () => {
      const p = pickRangeTestLr(lrs.slice(0, c.losses.length), c.losses);
      if (c.lr === undefined) assert.equal(p.lr, undefined);
      else assert.ok(p.lr !== undefined && Math.abs(p.lr / c.lr - 1) < 0.05, `picked ${p.lr}, want ${c.lr}`);
      assert.match(p.why, c.why);
    });
  }
});
