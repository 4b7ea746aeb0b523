import { randomBytes } from 'node:crypto';
import { loadSpamAssassin, toJsonl, type ClassificationRow } from '@cola/data';
import { initBackend } from '@cola/gl';
import { loadCheckpoint } from '@cola/model';
import { classificationTask, finetune, languageModelTask, type TaskData } from '@cola/train';
import { ColaApiClient, type CreateJobRequest, type Job } from './api-client';
import { formatBytes, jobTraffic, REFERENCE_LINK_BYTES_PER_SECOND, table } from './format';
import { watchJobs } from './job-watcher';
import { overheadPercent, scrapeStageSeconds } from '@cola/metrics';

/** Options of {@link runDemo}; the defaults fit cola-tiny on two cores in a few minutes. */
export interface DemoOptions {
  /** Gateway base URL. */
  apiUrl: string;
  /** The gateway's admin key (creates the two tenants). */
  adminKey: string;
  /** Base checkpoint, for the "before" metrics measured in this process. Default models/cola-tiny. */
  modelDir: string;
  /** Base model name the gateway knows. Default cola-tiny. */
  model: string;
  /** SpamAssassin e-mails the spam tenant trains on. */
  spamTrain: number;
  /** Held-out SpamAssassin e-mails it is evaluated on. */
  spamEval: number;
  /** Ham e-mail bodies the writer tenant trains its causal LM on. */
  lmTrain: number;
  /** Held-out ham bodies for its perplexity. */
  lmEval: number;
  /** Characters kept of each e-mail body for the LM (keeps the step count small). */
  lmChars: number;
  /** Examples per host batch. */
  batchSize: number;
  /** Tokens per example. */
  maxLength: number;
  /** Passes over the training files. */
  epochs: number;
  /** Seed of both jobs (aux init, classifier head, data order). */
  seed: number;
  /** Give up waiting for the jobs after this many ms. */
  timeoutMs: number;
  /** /metrics URLs of the gpu-host and aux-trainers, for the measured communication-overhead ratio (none: skipped). */
  metricsUrls: string[];
}

export const DEMO_DEFAULTS: Omit<DemoOptions, 'apiUrl' | 'adminKey'> = {
  modelDir: 'models/cola-tiny',
  model: 'cola-tiny',
  spamTrain: 640,
  spamEval: 200,
  lmTrain: 96,
  lmEval: 32,
  lmChars: 320,
  batchSize: 16,
  maxLength: 64,
  epochs: 1,
  seed: 7,
  // About 90 s on an idle 2-core machine, but more than 10 min at a load average of 15: the demo
  // shows progress all along, so it gives up only when something is really stuck (today, at load
  // 15-27, it took 31 min).
  timeoutMs: 3_600_000,
  metricsUrls: [],
};

/** Validates the options at once, with the fix in each message. */
export function validateDemoOptions(o: DemoOptions): DemoOptions {
  const problems: string[] = [];
  for (const k of ['spamTrain', 'spamEval', 'lmTrain', 'lmEval', 'lmChars', 'batchSize', 'maxLength', 'epochs'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1)
      problems.push(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive integer, got ${o[k]}`);
  }
  if (o.adminKey.length < 16)
    problems.push('the admin key is missing or short: set GATEWAY_ADMIN_KEY to the key `npm start` printed (or pass --admin-key)');
  if (problems.length) throw new Error(`demo options: ${problems.join('; ')}`);
  return o;
}

interface DemoTenant {
  id: string;
  label: string;
  client: ColaApiClient;
  job: Job;
  data: TaskData;
}

/** The demo data: a SpamAssassin subset for one tenant, held-out ham bodies as LM text for the other. */
export function demoData(o: Pick<DemoOptions, 'spamTrain' | 'spamEval' | 'lmTrain' | 'lmEval' | 'lmChars'>): {
  spam: { train: ClassificationRow[]; eval: ClassificationRow[] };
  lm: { train: string[]; eval: string[] };
  samples: ClassificationRow[];
} {
  const splits = loadSpamAssassin();
  // cola-tiny was pretrained on the State of the Union and Moby Dick: e-mail prose is a real domain shift.
  const ham = splits.validation
    .filter((r) => r.label === 'ham')
    .map((r) => r.text.slice(0, o.lmChars).trim())
    .filter((t) => t.length >= 40);
  if (ham.length < o.lmTrain + o.lmEval) throw new Error(`only ${ham.length} ham bodies are available; lower --lm-train/--lm-eval`);
  const test = splits.test.slice(0, o.spamEval);
  const rest = splits.test.slice(o.spamEval);
  const samples = [...rest.filter((r) => r.label === 'spam').slice(0, 2), ...rest.filter((r) => r.label === 'ham').slice(0, 2)].map(
    (r) => ({ ...r, text: r.text.slice(0, 2000) }),
  );
  return {
    spam: { train: splits.train.slice(0, o.spamTrain), eval: test },
    lm: { train: ham.slice(0, o.lmTrain), eval: ham.slice(o.lmTrain, o.lmTrain + o.lmEval) },
    samples,
  };
}

/** The metric of the job's starting model (base + the job's seeded head, aux at zero), measured here with the trainer's own evaluation. */
async function beforeMetric(o: DemoOptions, data: TaskData, aux: { type: 'lowrank' | 'linear'; rank?: number }): Promise<number> {
  const model = await loadCheckpoint(o.modelDir);
  try {
    const r = await finetune(
      model,
      data,
      { method: 'cola', aux, batchSize: o.batchSize, maxLength: o.maxLength, seed: o.seed, maxSteps: 1 },
      { quiet: true, evaluateBefore: true, skipEvaluation: true },
    );
    r.adapters.dispose();
    return r.before!.value;
  } finally {
    model.dispose();
  }
}

const log = (s = ''): void => void process.stdout.write(`${s}\n`);

/**
 * The live demo against a running stack: two tenants, two ColA jobs with different aux types
 * trained at the same time on the one gpu-host, live progress, a summary table and a few
 * e-mails classified through the API. Returns the final jobs.
 */
export async function runDemo(input: DemoOptions): Promise<Job[]> {
  const o = validateDemoOptions(input);
  const t0 = Date.now();
  const admin = new ColaApiClient({ baseUrl: o.apiUrl });
  const suffix = randomBytes(3).toString('hex');
  const data = demoData(o);
  const stagesBefore = await scrapeStageSeconds(o.metricsUrls);
  log(`\n=== ColA demo: two tenants fine-tune ${o.model} at the same time on one gpu-host ===`);

  const tenants: { id: string; label: string; create: (c: ColaApiClient) => Promise<{ req: CreateJobRequest; task: TaskData }> }[] = [
    {
      id: `spam-filter-${suffix}`,
      label: 'spam-filter  (classification, lowrank aux)',
      create: async (c) => {
        const train = await c.upload(toJsonl(data.spam.train), 'spam-train.jsonl');
        const val = await c.upload(toJsonl(data.spam.eval), 'spam-val.jsonl');
        log(`  spam-filter: uploaded ${train.rows} + ${val.rows} SpamAssassin e-mails (${train.id}, ${val.id})`);
        return {
          req: {
            model: o.model,
            training_file: train.id,
            validation_file: val.id,
            method: { aux: { type: 'lowrank', rank: 8 } },
            hyperparameters: { n_epochs: o.epochs, batch_size: o.batchSize, learning_rate: 1e-2, max_length: o.maxLength },
            seed: o.seed,
          },
          task: classificationTask('spam', data.spam.train, data.spam.eval, ['ham', 'spam']),
        };
      },
    },
    {
      id: `mail-writer-${suffix}`,
      label: 'mail-writer  (causal LM, linear aux)',
      create: async (c) => {
        const rows = (docs: string[]) => docs.map((d) => ({ prompt: '', completion: d }));
        const train = await c.upload(toJsonl(rows(data.lm.train)), 'ham-bodies-train.jsonl');
        const val = await c.upload(toJsonl(rows(data.lm.eval)), 'ham-bodies-val.jsonl');
        log(`  mail-writer: uploaded ${train.rows} + ${val.rows} ham e-mail bodies as LM text (${train.id}, ${val.id})`);
        return {
          req: {
            model: o.model,
            training_file: train.id,
            validation_file: val.id,
            method: { aux: { type: 'linear' } },
            hyperparameters: { n_epochs: o.epochs, batch_size: o.batchSize, learning_rate: 1e-3, max_length: o.maxLength },
            seed: o.seed,
          },
          task: languageModelTask('ham-bodies', data.lm.train, data.lm.eval),
        };
      },
    },
  ];

  const started: DemoTenant[] = [];
  for (const t of tenants) {
    const key = (await admin.createTenant(t.id, t.label.split(' ')[0]!, o.adminKey)).api_key.key;
    log(`tenant ${t.id}: API key ${key}`);
    const client = admin.withKey(key);
    const { req, task } = await t.create(client);
    started.push({ id: t.id, label: t.label, client, job: await client.createJob(req), data: task });
  }
  log(`\njobs ${started.map((s) => s.job.id).join(' and ')} queued; watch them live at ${o.apiUrl}/status?key=<a tenant key above>\n`);

  const results = await watchJobs(
    started.map((s) => ({ label: s.label, jobId: s.job.id, client: s.client })),
    { timeoutMs: o.timeoutMs },
  );
  const failed = results.filter((r) => r.job.status !== 'succeeded');
  if (failed.length)
    throw new Error(
      `demo jobs did not succeed: ${failed.map((r) => `${r.job.id} ${r.job.status}${r.job.error ? ` (${r.job.error.code}: ${r.job.error.message})` : ''}`).join('; ')}`,
    );
  const trainSeconds = (Date.now() - t0) / 1000;
  const stagesAfter = await scrapeStageSeconds(o.metricsUrls);

  log('\nmeasuring the starting models in this process for the "before" column...');
  await initBackend({ log: null });
  const rows: string[][] = [];
  for (let i = 0; i < started.length; i++) {
    const s = started[i]!;
    const { job, events } = results[i]!;
    const aux = job.method.aux.type === 'lowrank' ? { type: 'lowrank' as const, rank: job.method.aux.rank } : { type: 'linear' as const };
    const before = await beforeMetric(o, s.data, aux);
    const after = job.result!;
    const fmt = (v: number | null) => (v === null ? '…' : after.metric === 'accuracy' ? `${(100 * v).toFixed(1)}%` : v.toFixed(2));
    const tr = jobTraffic(events);
    rows.push([
      s.id,
      job.method.aux.type,
      after.metric,
      `${fmt(before)} → ${fmt(after.value ?? NaN)}`,
      `${Math.round(tr.tokensPerSecond)}`,
      formatBytes(tr.bytes),
      `${Math.round(tr.bytesPerToken)}`,
      `${tr.linkTimeEstimatePercent.toFixed(2)}%`,
    ]);
  }
  log(`\n${table(['tenant', 'aux', 'metric', 'before → after', 'host tok/s', 'bytes moved', 'B/token', 'est. 1 Gbit/s link time'], rows)}`);
  log(
    `\nhost tok/s: training tokens per second of each job while both shared the gpu-host (from its events).` +
      `\nest. link time (per job, an ESTIMATE, not the overhead): time its adaptation bytes would take on an assumed ${(REFERENCE_LINK_BYTES_PER_SECOND * 8) / 1e9} Gbit/s link, as a share of its training time.` +
      `\n"before" is the job's starting model (base + seeded head, aux at zero), measured with the same evaluation code as "after".`,
  );
  if (stagesBefore && stagesAfter) {
    const d = (k: keyof typeof stagesAfter): string => `${((stagesAfter[k] - stagesBefore[k]) * 1000).toFixed(0)} ms`;
    log(
      `communication overhead, measured on this machine (services' /metrics, both jobs): ${overheadPercent(stagesBefore, stagesAfter).toFixed(1)}% = ` +
        `(encode ${d('encode')} + write ${d('write')} + adapt-queue wait ${d('queueWait')} + decode ${d('decode')}) / host steps ${d('hostStep')}`,
    );
  }

  const spam = started[0]!;
  const model = results[0]!.job.fine_tuned_model!;
  log(`\nclassifying e-mails the job never saw with ${model}:`);
  const answer = await spam.client.classify(
    model,
    data.samples.map((s) => s.text),
  );
  answer.data.forEach((d, i) => {
    const s = data.samples[i]!;
    const score = d.scores.find((x) => x.label === d.label)?.score ?? 0;
    log(
      `  ${d.label === s.label ? '✓' : '✗'} ${d.label.padEnd(4)} (${(100 * score).toFixed(0)}%, truth ${s.label})  "${s.text.slice(0, 70).replace(/\s+/g, ' ')}..."`,
    );
  });
  const writer = started[1]!;
  const lmModel = results[1]!.job.fine_tuned_model!;
  const prompt = 'Hi all, ';
  // The base model's context bounds prompt + continuation (the tiny test model has 32 positions).
  const completion = await writer.client.complete(lmModel, prompt, Math.max(1, Math.min(40, o.maxLength - prompt.length - 1)));
  log(`\n${lmModel} continues "${prompt}": ${JSON.stringify(prompt + completion.choices[0]!.text)}`);
  log(`\ndemo finished in ${((Date.now() - t0) / 1000).toFixed(0)} s (training ${trainSeconds.toFixed(0)} s)`);
  return results.map((r) => r.job);
}
