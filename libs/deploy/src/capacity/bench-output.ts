import type { Measured } from './model';

/**
 * Reads the measured rates from a saved `npm run bench:pipeline` output: the host step line
 * (`host step: 1498.2 ms for 3072 tokens`) and the one-trainer row of the throughput table
 * (`| 1 | 24 | 5.47 | 4.39 | 1.5 |`).
 *
 * @throws Error naming what is missing.
 */
export function measuredFromBench(text: string, source: string): Measured {
  const host = /host step: ([\d.]+) ms for (\d+) tokens/.exec(text);
  if (!host) throw new Error(`${source}: no "host step: X ms for N tokens" line (is it bench:pipeline's output?)`);
  const trainer = /^\|\s*1\s*\|\s*\d+\s*\|\s*[\d.]+\s*\|\s*([\d.]+)\s*\|/m.exec(text);
  if (!trainer) throw new Error(`${source}: no one-trainer row in the fit tasks/s table`);
  const ms = Number(host[1]);
  const tokens = Number(host[2]);
  return {
    source: `${source} (bench:pipeline output)`,
    hostTokensPerSecond: Math.round((tokens / ms) * 1000),
    trainerTasksPerSecond: Number(trainer[1]),
    tokensPerStep: tokens,
  };
}
