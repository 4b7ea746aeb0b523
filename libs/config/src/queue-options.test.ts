import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BULLMQ_PREFIX, QUEUES, allDefaultPorts, queueOptions } from './index';

describe('when taking BullMQ options for a queue', () => {
  for (const queue of Object.values(QUEUES)) {
    it(`should clean up finished jobs and cap the events stream of "${queue}"`, () => {
      const opts = queueOptions(queue);
      assert.equal(opts.prefix, BULLMQ_PREFIX);
      assert.ok(opts.streams.events.maxLen > 0 && opts.streams.events.maxLen <= 10_000);
      for (const keep of [opts.defaultJobOptions.removeOnComplete, opts.defaultJobOptions.removeOnFail]) {
        assert.ok((keep.age ?? 0) > 0 || (keep.count ?? 0) > 0, 'finished jobs must be removed by age or count');
      }
      assert.ok(opts.defaultJobOptions.attempts >= 1);
    });
  }

  it("should return a fresh object each time, so one caller cannot change another one's options", () => {
    const a = queueOptions(QUEUES.adapt);
    a.defaultJobOptions.removeOnComplete.count = 1;
    assert.notEqual(queueOptions(QUEUES.adapt).defaultJobOptions.removeOnComplete.count, 1);
  });

  it('should retry fit tasks but not whole fine-tuning jobs', () => {
    assert.ok(queueOptions(QUEUES.adapt).defaultJobOptions.attempts > 1);
    assert.equal(queueOptions(QUEUES.jobs).defaultJobOptions.attempts, 1);
  });

  it('should reject a queue that is not ours', () => {
    assert.throws(() => queueOptions('nope' as never), /unknown queue "nope"/);
  });
});

describe('when listing default ports', () => {
  it('should give every service a distinct valid port', () => {
    const ports = Object.values(allDefaultPorts());
    assert.equal(new Set(ports).size, ports.length);
    for (const p of ports) assert.ok(Number.isInteger(p) && p > 0 && p < 65536);
  });
});
