import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobEvent } from './api-client';
import { formatBytes, jobTraffic, REFERENCE_LINK_BYTES_PER_SECOND, sparkline, table } from './format';

const metrics = (ms: number, tokens: number, bytes: number): JobEvent => ({
  id: `ftevent-${ms}-0`,
  created_at: Math.floor(ms / 1000),
  level: 'info',
  message: '',
  type: 'metrics',
  data: { step: 1, loss: 1, tokens, bytes },
});

describe('when a job has metrics events', () => {
  it('should derive tokens per second, bytes per token and the estimated link time from their millisecond ids', () => {
    const t = jobTraffic([
      metrics(1_000, 1000, 8_000_000),
      { ...metrics(1_500, 0, 0), type: 'message', data: null },
      metrics(3_000, 5000, 40_000_000),
    ]);
    assert.equal(t.tokens, 5000);
    assert.equal(t.bytes, 40_000_000);
    assert.equal(t.seconds, 2);
    assert.equal(t.tokensPerSecond, 2000);
    assert.equal(t.bytesPerToken, 8000);
    assert.equal(t.linkTimeEstimatePercent, (100 * (32_000_000 / REFERENCE_LINK_BYTES_PER_SECOND)) / 2);
  });

  it('should report zeros rather than rates from a single event', () => {
    const t = jobTraffic([metrics(1_000, 1000, 8)]);
    assert.deepEqual([t.tokensPerSecond, t.linkTimeEstimatePercent, t.bytesPerToken], [0, 0, 0.008]);
  });
});

describe('when formatting for a terminal', () => {
  it('should draw a sparkline from low to high and keep only the last values', () => {
    assert.equal(sparkline([0, 7, 14]), '▁▅█');
    assert.equal(sparkline([3, 3]), '▄▄');
    assert.equal(sparkline([9, 0, 1, 2], 3), '▁▅█');
    assert.equal(sparkline([]), '');
  });

  it('should format bytes and align table columns', () => {
    assert.deepEqual([formatBytes(512), formatBytes(2048), formatBytes(3 * 1024 ** 2)], ['512 B', '2.0 KB', '3.0 MB']);
    const lines = table(
      ['name', 'n'],
      [
        ['a', '1'],
        ['bbb', '22'],
      ],
    ).split('\n');
    assert.deepEqual(lines, ['name   n', '────  ──', 'a      1', 'bbb   22']);
  });
});
