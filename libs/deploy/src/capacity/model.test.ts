import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { measuredFromBench } from './bench-output';
import { capacity, DEFAULT_SCENARIO, MEASURED, meanQueueLength, payloadBytes, taskSeconds, WIDTHS } from './model';

const tiny = WIDTHS[0]!;
const benchScenario = { ...DEFAULT_SCENARIO, jobsPerHost: 1, tokensPerStep: 3072 };

describe('when the capacity model sizes payloads', () => {
  it('should match the byte counts bench:pipeline measured on cola-tiny (c_attn part, head excluded)', () => {
    // docs/benchmarks.md: 25,182,801 bytes (activations fp32) and 793,951 (gram fp32) per step,
    // both including the small linear head and the message framing (under 0.2%).
    const act = payloadBytes(tiny, 'activations', benchScenario);
    const gram = payloadBytes(tiny, 'gram', benchScenario);
    assert.ok(Math.abs(act - 25_182_801) / 25_182_801 < 0.002, `activations ${act}`);
    assert.ok(Math.abs(gram - 793_951) / 793_951 < 0.002, `gram ${gram}`);
  });

  it('should keep gram bytes independent of the batch and halve both with a 2-byte dtype', () => {
    const big = { ...benchScenario, tokensPerStep: 4 * 3072 };
    assert.equal(payloadBytes(tiny, 'gram', big), payloadBytes(tiny, 'gram', benchScenario));
    assert.equal(payloadBytes(tiny, 'activations', big), 4 * payloadBytes(tiny, 'activations', benchScenario));
    assert.equal(payloadBytes(tiny, 'gram', { ...benchScenario, wireBytes: 2 }) * 2, payloadBytes(tiny, 'gram', benchScenario));
  });
});

describe('when the capacity model sizes trainers', () => {
  it('should reproduce the measured fit time it is calibrated on', () => {
    assert.ok(Math.abs(taskSeconds(tiny, 'activations', benchScenario) - 1 / MEASURED.trainerTasksPerSecond) < 1e-9);
  });

  it('should need more trainers for more hosts, never fewer, and keep them under the target utilization', () => {
    for (const w of WIDTHS) {
      for (const mode of ['gram', 'activations'] as const) {
        let previous = 0;
        for (const hosts of [1, 2, 4, 8, 16, 32, 64]) {
          const r = capacity(hosts, w, mode);
          assert.ok(r.trainers >= previous, `${w.name} ${mode} ${hosts}`);
          assert.ok((r.tasksPerSecond * r.taskSeconds) / r.trainers <= DEFAULT_SCENARIO.targetUtilization + 1e-9);
          assert.ok(r.queueDepth <= hosts * DEFAULT_SCENARIO.jobsPerHost * DEFAULT_SCENARIO.staleness);
          previous = r.trainers;
        }
      }
    }
  });

  it('should give the textbook M/M/1 queue length and an unbounded queue at full load', () => {
    // M/M/1: Lq = rho^2 / (1 - rho).
    assert.ok(Math.abs(meanQueueLength(0.5, 1, 1) - 0.5) < 1e-12);
    assert.equal(meanQueueLength(2, 1, 2), Number.POSITIVE_INFINITY);
  });
});

describe('when measured rates come from a saved bench:pipeline output', () => {
  it('should read the host step and the one-trainer throughput, and name what is missing', () => {
    const text =
      'Host step: x\nhost step: 1498.2 ms for 3072 tokens\n| trainers | fit tasks |\n| 1        | 24        | 5.47    | 4.39        | 1.5 |\n';
    const m = measuredFromBench(text, 'out.txt');
    assert.equal(m.hostTokensPerSecond, 2050);
    assert.equal(m.trainerTasksPerSecond, 4.39);
    assert.equal(m.tokensPerStep, 3072);
    assert.throws(() => measuredFromBench('nothing', 'out.txt'), /out.txt: no "host step/);
  });
});
