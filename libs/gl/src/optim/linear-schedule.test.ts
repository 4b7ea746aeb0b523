import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LinearSchedule, OptimizerConfigError } from '../index';

describe('when the schedule uses the default 5% warmup', () => {
  const s = new LinearSchedule({ peakLr: 1e-3, totalSteps: 200 });

  it('should warm up linearly from 0 over the first 10 steps', () => {
    assert.equal(s.warmupSteps, 10);
    assert.equal(s.lrAt(0), 0);
    assert.ok(Math.abs(s.lrAt(1) - 1e-4) < 1e-18);
    assert.ok(Math.abs(s.lrAt(5) - 5e-4) < 1e-18);
  });

  it('should peak at the end of the warmup, then decay linearly to 0 at totalSteps', () => {
    assert.equal(s.lrAt(10), 1e-3);
    assert.ok(Math.abs(s.lrAt(105) - 5e-4) < 1e-18, 'half-way through the decay is half the peak');
    assert.ok(Math.abs(s.lrAt(199) - 1e-3 / 190) < 1e-18);
    assert.equal(s.lrAt(200), 0);
    assert.equal(s.lrAt(500), 0);
  });

  it('should never increase after the peak', () => {
    for (let t = 10; t < 200; t++) assert.ok(s.lrAt(t + 1) <= s.lrAt(t));
  });
});

describe('when the warmup is given in steps or as a fraction', () => {
  it('should honour warmupSteps, including no warmup at all', () => {
    const s = new LinearSchedule({ peakLr: 0.1, totalSteps: 10, warmupSteps: 4 });
    assert.equal(s.lrAt(2), 0.05);
    assert.equal(s.lrAt(4), 0.1);
    assert.ok(Math.abs(s.lrAt(7) - 0.05) < 1e-15);
    const flat = new LinearSchedule({ peakLr: 0.1, totalSteps: 10, warmupSteps: 0 });
    assert.equal(flat.lrAt(0), 0.1);
  });

  it('should round a warmup fraction up to whole steps', () => {
    assert.equal(new LinearSchedule({ peakLr: 1, totalSteps: 30, warmupFraction: 0.1 }).warmupSteps, 3);
    assert.equal(new LinearSchedule({ peakLr: 1, totalSteps: 7, warmupFraction: 0.05 }).warmupSteps, 1);
  });
});

describe('when the schedule config is wrong', () => {
  const BAD: [string, unknown, string, RegExp][] = [
    ['a negative peak', { peakLr: -1, totalSteps: 10 }, 'peakLr', /schedule\.peakLr must be a finite number >= 0/],
    ['no peak', { totalSteps: 10 }, 'peakLr', /schedule\.peakLr is required/],
    ['zero steps', { peakLr: 1, totalSteps: 0 }, 'totalSteps', /schedule\.totalSteps must be an integer >= 1/],
    ['both warmups', { peakLr: 1, totalSteps: 10, warmupSteps: 1, warmupFraction: 0.1 }, 'warmupSteps', /give only one of them/],
    ['a warmup longer than the run', { peakLr: 1, totalSteps: 10, warmupSteps: 11 }, 'warmupSteps', /must be an integer >= 0 and <= 10/],
    ['a warmup fraction of 1', { peakLr: 1, totalSteps: 10, warmupFraction: 1 }, 'warmupFraction', /must be a finite number >= 0 and < 1/],
  ];
  for (const [label, raw, field, message] of BAD) {
    it(`should reject ${label} naming ${field}`, () => {
      assert.throws(
        () => new LinearSchedule(raw as ConstructorParameters<typeof LinearSchedule>[0]),
        (e: unknown) => e instanceof OptimizerConfigError && e.field === field && message.test(e.message),
      );
    });
  }

  it('should reject a negative or fractional step', () => {
    const s = new LinearSchedule({ peakLr: 1, totalSteps: 10 });
    assert.throws(() => s.lrAt(-1), /step must be an integer >= 0/);
    assert.throws(() => s.lrAt(1.5), /step must be an integer >= 0/);
  });
});
