/**
 * What the gpu-host keeps per job, measured in one process: the real HostService and an
 * AuxTrainerService on a private Redis, rounds of N concurrent small jobs (cola-tiny, SpamAssassin,
 * the bench:tenants job), and after each round a full garbage collection and
 * `process.memoryUsage()`: JS heap used, external, ArrayBuffers, RSS, and the wasm allocator's
 * live bytes. Growth after GC is what finished or running jobs retain; the peak during a round
 * (sampled every 50 ms) adds what they hold while they run.
 *
 * Run: node --expose-gc --import tsx bench/host-retention.ts [--rounds 1,4,16] [--steps 3] [--batch 4] [--max-length 32]
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES, queueOptions } from '@cola/config';
import { backendMemory, initBackend } from '@cola/gl';
import { loadCheckpoint } from '@cola/model';
import { loadSpamAssassin, toJsonl } from '@cola/data';
import { AuxTrainerService, HostService, JobStore, putUpload, submitJob, type JobsQueueData } from '@cola/pipeline';
import { startRedis } from '@cola/testing';
import { DEFAULT_BASE_MODEL_DIR } from '@cola/train';
import { jobSpecFor } from './support/distributed';
import { n0, table } from './support/table';
import { textFlag } from './support/flags';

const ROUNDS = textFlag('rounds', '1,4,16').split(',').map(Number);
const STEPS = Number(textFlag('steps', '3'));
const BATCH = Number(textFlag('batch', '4'));
const MAX_LENGTH = Number(textFlag('max-length', '32'));

type Sample = { heapUsed: number; external: number; arrayBuffers: number; rss: number; wasm: number };

function sample(): Sample {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss, wasm: backendMemory()?.liveBytes ?? 0 };
}

function settled(): Sample {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return sample();
}

async function main(): Promise<void> {
  await initBackend({ log: null });
  const redis = await startRedis();
  const client = new Redis(redis.url);
  const bull = new Redis(redis.url, { maxRetriesPerRequest: null });
  const jobsQueue = new Queue<JobsQueueData>(QUEUES.jobs, { connection: bull, ...queueOptions(QUEUES.jobs) });
  const jobStore = new JobStore(client);
  const model = await loadCheckpoint(DEFAULT_BASE_MODEL_DIR);
  const host = new HostService({ redisUrl: redis.url, model, log: () => undefined });
  const trainer = new AuxTrainerService({ redisUrl: redis.url });
  await host.start();
  await trainer.start();
  const spam = loadSpamAssassin();
  const rows: string[][] = [];
  const mb = (b: number): string => n0(b / 1e6);
  const start = settled();
  const line = (name: string, s: Sample): string[] => [name, mb(s.heapUsed), mb(s.external), mb(s.arrayBuffers), mb(s.rss), mb(s.wasm)];
  rows.push(line('after start (GC)', start));
  let done = 0;
  try {
    for (const n of ROUNDS) {
      const jobs = Array.from({ length: n }, (_, i) => `ret-${done + i}`);
      const ended = new Map<string, string>();
      const all = new Promise<void>((resolve) => {
        host.on('ended', (e) => {
          ended.set(e.jobId, e.status);
          if (jobs.every((j) => ended.has(j))) resolve();
        });
      });
      const peak = sample();
      const sampler = setInterval(() => {
        const s = sample();
        for (const k of Object.keys(s) as (keyof Sample)[]) peak[k] = Math.max(peak[k], s[k]);
      }, 50);
      for (const [i, jobId] of jobs.entries()) {
        const at = ((done + i) * BATCH * STEPS) % 2000;
        await putUpload(client, `${jobId}-train`, new TextEncoder().encode(toJsonl(spam.train.slice(at, at + BATCH * STEPS))));
        await putUpload(client, `${jobId}-val`, new TextEncoder().encode(toJsonl(spam.test.slice(0, 16))));
        await submitJob(
          jobStore,
          jobsQueue,
          jobSpecFor(jobId, { staleness: 1, batch: BATCH, maxLength: MAX_LENGTH, train: [], validation: [] }),
        );
      }
      await all;
      clearInterval(sampler);
      host.removeAllListeners('ended');
      const failed = [...ended.values()].filter((s) => s !== 'succeeded').length;
      done += n;
      rows.push(line(`round of ${n} concurrent jobs: peak while running`, peak));
      rows.push(line(`after it, ${done} jobs finished in all (GC)${failed ? `; ${failed} did not succeed` : ''}`, settled()));
    }
  } finally {
    await trainer.close();
    await host.close();
    await jobsQueue.close();
    client.disconnect();
    bull.disconnect();
    model.dispose();
    await redis.stop();
  }
  console.log(
    `host-retention: the gpu-host's HostService and one aux-trainer in this process, jobs of ${STEPS} batches of ${BATCH} x ${MAX_LENGTH} (busy shared machine)`,
  );
  table(['when', 'JS heap used MB', 'external MB', 'ArrayBuffers MB', 'RSS MB', 'wasm allocator live MB'], rows);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
