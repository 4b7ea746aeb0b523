/**
 * `npm run bench:tenants`: 1, 2, 4, 8 and 16 concurrent tenants, one small job each, through the
 * real pipeline (a private Redis, the gpu-host, 2 aux-trainers and the merger as processes, via
 * libs/devstack's PipelineStack). For each N it prints the gpu-host's peak memory (peak RSS of the
 * process, which holds the wasm heap, and the largest backend heap it reported on /metrics when
 * it exports one), host tokens/s, every job's wall time, and beside it the memory in-process LoRA
 * needs to hold the same N adapters (parameters + gradients + Adam's two moments, fp32).
 *
 * Flags: --tenants 1,2,4,8,16  --steps N (batches per job, 6)  --batch N (8)  --max-length N (32)
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { AdapterSet, initBackend } from '@cola/gl';
import { loadCheckpoint, initClassificationHead, resolveTaps, tapShape } from '@cola/model';
import { loadSpamAssassin } from '@cola/data';
import { PipelineStack } from '@cola/devstack';
import { toJsonl } from '@cola/data';
import { startRedis } from '@cola/testing';
import { DEFAULT_BASE_MODEL_DIR, validateFinetuneOptions } from '@cola/train';
import { jobSpecFor } from './support/distributed';
import { n0, table } from './support/table';
import { textFlag } from './support/flags';

const TENANTS = textFlag('tenants', '1,2,4,8,16').split(',').map(Number);
const STEPS = Number(textFlag('steps', '6'));
const BATCH = Number(textFlag('batch', '8'));
const MAX_LENGTH = Number(textFlag('max-length', '32'));

/** kB fields of /proc/<pid>/status (VmRSS, VmHWM = peak RSS). */
function procStatus(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(/(\d+) kB/.exec(text.split('\n').find((l) => l.startsWith(k)) ?? '')?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** What one scrape of the gpu-host's /metrics says about its memory, in bytes. */
interface MemoryScrape {
  /** The largest series whose name mentions the backend or wasm heap (if the host exports one). */
  backendHeap?: number;
  /** Node's default metrics: V8 heap used and total, and memory outside V8's heap (ArrayBuffers, wasm memory). */
  heapUsed?: number;
  heapTotal?: number;
  external?: number;
  /** V8's young generation (new space) and old space, used bytes. */
  newSpace?: number;
  oldSpace?: number;
}

const NODE_SERIES: Record<string, keyof MemoryScrape> = {
  nodejs_heap_size_used_bytes: 'heapUsed',
  nodejs_heap_size_total_bytes: 'heapTotal',
  nodejs_external_memory_bytes: 'external',
};

async function scrapeMemory(url: string): Promise<MemoryScrape> {
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
    const out: MemoryScrape = {};
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) continue;
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (!Number.isFinite(v)) continue;
      const node = NODE_SERIES[/^[a-z_]+/.exec(line)?.[0] ?? ''];
      if (node) out[node] = v;
      else if (line.startsWith('nodejs_heap_space_size_used_bytes{')) {
        const space = /space="([a-z_]+)"/.exec(line)?.[1];
        if (space === 'new') out.newSpace = v;
        if (space === 'old') out.oldSpace = v;
      } else if (/^cola_[a-z_]*(wasm|backend)[a-z_]*bytes/.test(line)) out.backendHeap = Math.max(out.backendHeap ?? 0, v);
    }
    return out;
  } catch {
    return {};
  }
}

/** fp32 bytes of one tenant's adapters in LoRA: parameters, gradients and Adam's m and v. */
async function loraBytesPerAdapter(): Promise<number> {
  const model = await loadCheckpoint(DEFAULT_BASE_MODEL_DIR);
  initClassificationHead(model, 2, { seed: 0 });
  const o = validateFinetuneOptions({ method: 'lora', task: 'classification', aux: { type: 'lowrank', rank: 8, scale: 1 } });
  const set = AdapterSet.create({
    layers: resolveTaps(model.config, o.targetModules).map((tap) => ({
      tap,
      ...tapShape(model.config, tap),
      aux: tap === 'score' ? o.headAux : o.aux,
    })),
    optimizer: o.optimizer,
    seed: 0,
  });
  let params = 0;
  for (const v of (await set.values()).values()) params += v.length;
  set.dispose();
  model.dispose();
  return params * 4 * 4;
}

async function main(): Promise<void> {
  await initBackend({ log: null });
  console.log(
    `bench:tenants — cola-tiny, SpamAssassin, one job per tenant of ${STEPS} batches of ${BATCH} x ${MAX_LENGTH}, lowrank r=8 + linear head, transfer auto, K = 1`,
  );
  console.log(
    `machine: ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, node ${process.version}; the gpu-host, 2 aux-trainers and the merger run as processes\n`,
  );
  const perAdapter = await loraBytesPerAdapter();
  const spam = loadSpamAssassin();
  const redis = await startRedis();
  const summary: string[][] = [];
  const walls: string[][] = [];
  let baseline: number | undefined;
  try {
    for (const n of TENANTS) {
      const stack = new PipelineStack({ redisUrl: redis.url, modelDir: DEFAULT_BASE_MODEL_DIR, quiet: true });
      try {
        await stack.startAll(2);
        const host = stack.services.get('gpu-host')!;
        const metricsUrl = (host.opts.healthUrl ?? '').replace(/\/healthz$/, '/metrics');
        let peakRss = procStatus(host.pid!).rss;
        const peaks: MemoryScrape = {};
        const sampler = setInterval(() => {
          try {
            peakRss = Math.max(peakRss, procStatus(host.pid!).rss);
          } catch {
            // the process is gone; the final read below says so
          }
          void scrapeMemory(metricsUrl).then((m) => {
            for (const k of Object.keys(m) as (keyof MemoryScrape)[]) peaks[k] = Math.max(peaks[k] ?? 0, m[k]!);
          });
        }, 200);
        const t0 = performance.now();
        const jobs = Array.from({ length: n }, (_, i) => `bench-n${n}-t${i}`);
        const rowsOf = (i: number) => spam.train.slice((i * BATCH * STEPS) % 2000, ((i * BATCH * STEPS) % 2000) + BATCH * STEPS);
        const wall = new Map<string, number>();
        await Promise.all(
          jobs.map(async (jobId, i) => {
            const spec = jobSpecFor(jobId, { staleness: 1, batch: BATCH, maxLength: MAX_LENGTH, train: [], validation: [] });
            const start = performance.now();
            await stack.submit(spec, { [`${jobId}-train`]: toJsonl(rowsOf(i)), [`${jobId}-val`]: toJsonl(spam.test.slice(0, 16)) });
            const status = await stack.waitForFinal(jobId, 900_000);
            wall.set(jobId, (performance.now() - start) / 1000);
            if (status !== 'succeeded') {
              const rec = await stack.jobs.get(jobId);
              throw new Error(`${jobId} ended ${status}: ${JSON.stringify(rec?.error)}`);
            }
          }),
        );
        const seconds = (performance.now() - t0) / 1000;
        clearInterval(sampler);
        const hwm = procStatus(host.pid!).hwm;
        let tokens = 0;
        for (const j of jobs) tokens += (await stack.jobs.progress(j))?.tokens ?? 0;
        const peak = Math.max(peakRss, hwm);
        baseline ??= peak;
        summary.push([
          String(n),
          `${n}/${n}`,
          n0(peak / 1e6),
          peaks.backendHeap !== undefined ? n0(peaks.backendHeap / 1e6) : 'not exported',
          (peak / baseline).toFixed(2),
          [peaks.heapUsed, peaks.heapTotal, peaks.newSpace, peaks.oldSpace, peaks.external]
            .map((b) => (b === undefined ? '?' : n0(b / 1e6)))
            .join(' / '),
          n0(tokens / seconds),
          seconds.toFixed(1),
          ((n * perAdapter) / 1e6).toFixed(2),
        ]);
        const ws = jobs.map((j) => wall.get(j)!);
        walls.push([String(n), ws.map((w) => w.toFixed(1)).join(' ')]);
      } finally {
        await stack.stop();
      }
    }
  } finally {
    await redis.stop();
  }
  console.log(
    "JS heap columns: the peaks of node's default metrics on the gpu-host's /metrics (V8 heap used and reserved, its new and old spaces used, and external memory: ArrayBuffers and the wasm memory)",
  );
  console.log(
    'peak host memory: the largest RSS of the gpu-host process (sampled every 200 ms, and its kernel peak VmHWM), which contains its wasm heap',
  );
  table(
    [
      'tenants',
      'succeeded',
      'peak host RSS MB',
      'peak backend heap MB',
      'vs 1 tenant',
      'peak JS heap used / total / new / old / external MB',
      'host tok/s',
      'wall s',
      'LoRA: N adapters + grads + Adam, MB',
    ],
    summary,
  );
  console.log(
    `LoRA column: ${n0(perAdapter / 16)} adapter parameters per tenant x 4 bytes x (parameter + gradient + Adam m + v), held in one process for N tenants`,
  );
  table(['tenants', 'each job wall time, s'], walls);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
