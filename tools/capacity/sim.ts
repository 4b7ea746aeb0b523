// `npm run sim:capacity [-- --from bench-output.txt] [--host-speedup N] [--jobs-per-host N]
//   [--tokens-per-step N] [--wire-bytes 4|2] [--staleness K] [--rank R]`
// Prints, for 1..64 gpu-hosts, three widths and both transfer modes: trainers needed, Redis
// bandwidth and memory, and the adapt queue depth (tools/capacity/model.ts). --from reads the
// measured rates from a saved `npm run bench:pipeline` output; without it, the figures recorded
// in docs/benchmarks.md are used. Which one is printed above the table.
import { readFileSync } from 'node:fs';
import {
  capacity,
  DEFAULT_SCENARIO,
  MEASURED,
  measuredFromBench,
  WIDTHS,
  type Measured,
  type Scenario,
  type TransferMode,
} from '@cola/deploy';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function numberFlag(name: string, dflt: number): number {
  const raw = flag(name);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number, got ${raw}`);
    process.exit(2);
  }
  return n;
}

const from = flag('from');
const measured: Measured = from ? measuredFromBench(readFileSync(from, 'utf8'), from) : MEASURED;
const s: Scenario = {
  ...DEFAULT_SCENARIO,
  tokensPerStep: numberFlag('tokens-per-step', DEFAULT_SCENARIO.tokensPerStep),
  jobsPerHost: numberFlag('jobs-per-host', DEFAULT_SCENARIO.jobsPerHost),
  rank: numberFlag('rank', DEFAULT_SCENARIO.rank),
  wireBytes: numberFlag('wire-bytes', DEFAULT_SCENARIO.wireBytes),
  staleness: numberFlag('staleness', DEFAULT_SCENARIO.staleness),
  hostSpeedup: numberFlag('host-speedup', DEFAULT_SCENARIO.hostSpeedup),
};

const bytes = (n: number): string => {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
};

console.log(`sim:capacity: measured rates from ${measured.source}`);
console.log(
  `  host ${measured.hostTokensPerSecond} tokens/s and trainer ${measured.trainerTasksPerSecond} fit tasks/s on cola-tiny at ${measured.tokensPerStep} tokens/step`,
);
console.log(
  `  scenario: ${s.tokensPerStep} tokens/step, ${s.jobsPerHost} jobs/host, lowrank r=${s.rank} on c_attn, ${s.wireBytes}-byte wire dtype, K=${s.staleness}, host speed-up x${s.hostSpeedup}, trainers sized for ${Math.round(s.targetUtilization * 100)}% busy\n`,
);
const head = ['hosts', 'width', 'mode', 'fit tasks/s', 'task ms', 'trainers', 'per host', 'Redis B/s', 'Redis mem', 'queue'];
const rows: string[][] = [];
for (const w of WIDTHS) {
  for (const mode of ['gram', 'activations'] as TransferMode[]) {
    for (const hosts of [1, 2, 4, 8, 16, 32, 64]) {
      const r = capacity(hosts, w, mode, s, measured);
      rows.push([
        String(hosts),
        r.width,
        r.mode,
        r.tasksPerSecond.toFixed(r.tasksPerSecond < 10 ? 2 : 0),
        (r.taskSeconds * 1000).toFixed(0),
        String(r.trainers),
        r.trainersPerHost.toFixed(2),
        `${bytes(r.redisBytesPerSecond)}/s`,
        bytes(r.redisBytes),
        r.queueDepth.toFixed(1),
      ]);
    }
  }
}
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (c: string[]): string => `| ${c.map((x, i) => x.padStart(widths[i]!)).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((n) => '-'.repeat(n + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log('\ntrainers per host = trainers / hosts; choose it from your width and mode (deploy/README.md, "Capacity").');
