import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { ENV, PORTS } from '@cola/config';
import { AUX_TYPES, type AuxType } from '@cola/gl';
import { positiveInt, positiveNumber } from '@cola/train';
import { ColaApiClient, ColaApiError, type CreateJobRequest } from './api-client';
import { DEMO_DEFAULTS, runDemo, type DemoOptions } from './demo';
import { jobLine, resultText } from './format';
import { watchJobs } from './job-watcher';

interface GlobalOpts {
  apiUrl: string;
  apiKey?: string;
  json?: boolean;
}

const out = (s: string): void => void process.stdout.write(`${s}\n`);

/** The `cola` command line. `env` supplies COLA_API_URL, COLA_API_KEY and GATEWAY_ADMIN_KEY. */
export function buildProgram(env: Readonly<Record<string, string | undefined>> = process.env): Command {
  const program = new Command('cola')
    .description(
      'ColA fine-tuning as a service from the command line: run the local stack, create tenants, upload data, fine-tune, watch and predict.',
    )
    .addOption(
      new Option('--api-url <url>', 'gateway base URL')
        .env(ENV.COLA_API_URL)
        .default(env[ENV.COLA_API_URL] ?? `http://127.0.0.1:${PORTS.gatewayHttp}`),
    )
    .addOption(new Option('--api-key <key>', 'your tenant API key (sent as Authorization: Bearer)').env(ENV.COLA_API_KEY))
    .option('--json', 'print raw JSON answers')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Quick start:
  cola up                                        # the local stack (Ctrl-C stops it); prints the admin key
  export GATEWAY_ADMIN_KEY=<printed admin key>
  cola tenants create acme                       # prints the tenant's API key
  export COLA_API_KEY=<key>
  cola files upload train.jsonl                  # {"text","label"} or {"prompt","completion"} rows
  cola jobs create --training-file file-... --aux lowrank --rank 8
  cola jobs watch ftjob-...                      # progress bar + loss sparkline
  cola predict ft:cola-tiny:acme:ftjob-... "Win a free cruise now"

Environment: ${ENV.COLA_API_URL}, ${ENV.COLA_API_KEY}, ${ENV.GATEWAY_ADMIN_KEY} (tenants create, demo).`,
    );

  const client = (needKey = true): ColaApiClient => {
    const g = program.opts<GlobalOpts>();
    const key = g.apiKey ?? env[ENV.COLA_API_KEY];
    if (needKey && !key)
      throw new ColaApiError(
        0,
        'missing_api_key',
        `no API key: set ${ENV.COLA_API_KEY} or pass --api-key (create one with \`cola tenants create <id>\`)`,
      );
    return new ColaApiClient({ baseUrl: g.apiUrl, key });
  };
  const print = (value: unknown, text: () => string): void =>
    out(program.opts<GlobalOpts>().json ? JSON.stringify(value, null, 2) : text());
  const adminKeyOption = () => new Option('--admin-key <key>', 'the gateway admin key').env(ENV.GATEWAY_ADMIN_KEY);

  program
    .command('up')
    .description('start the local stack (Redis, gateway, gpu-host, 2 aux-trainers, merger) without the demo; Ctrl-C stops it')
    .action(async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'tools/start.ts'], {
        stdio: 'inherit',
        env: { ...process.env, [ENV.COLA_DEMO]: '0' },
      });
      // The stack handles the signal itself (a terminal's Ctrl-C reaches it too); just wait for it.
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => child.kill(s));
      const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
      process.exitCode = code;
    });

  program
    .command('demo')
    .description('the live demo against a running stack: two tenants, two ColA jobs at once, a summary table')
    .addOption(adminKeyOption())
    .addOption(
      new Option('--model-dir <dir>', 'base checkpoint for the "before" metrics').env(ENV.MODEL_DIR).default(DEMO_DEFAULTS.modelDir),
    )
    .option('--spam-train <n>', 'SpamAssassin e-mails to train on', positiveInt, DEMO_DEFAULTS.spamTrain)
    .option('--spam-eval <n>', 'held-out e-mails to evaluate on', positiveInt, DEMO_DEFAULTS.spamEval)
    .option('--lm-train <n>', 'ham e-mail bodies for the causal LM', positiveInt, DEMO_DEFAULTS.lmTrain)
    .option('--lm-eval <n>', 'held-out bodies for its perplexity', positiveInt, DEMO_DEFAULTS.lmEval)
    .option('--lm-chars <n>', 'characters kept of each body', positiveInt, DEMO_DEFAULTS.lmChars)
    .option('--batch-size <n>', 'examples per host batch', positiveInt, DEMO_DEFAULTS.batchSize)
    .option('--max-length <n>', 'tokens per example', positiveInt, DEMO_DEFAULTS.maxLength)
    .option('--epochs <n>', 'passes over the data', positiveInt, DEMO_DEFAULTS.epochs)
    .option(
      '--metrics-urls <urls>',
      'comma-separated /metrics URLs of the gpu-host and aux-trainers, for the measured overhead ratio',
      (v) => v.split(',').filter(Boolean),
      [] as string[],
    )
    .action(
      async (
        o: Pick<
          DemoOptions,
          'metricsUrls' | 'modelDir' | 'spamTrain' | 'spamEval' | 'lmTrain' | 'lmEval' | 'lmChars' | 'batchSize' | 'maxLength' | 'epochs'
        > & { adminKey?: string },
      ) => {
        await runDemo({ ...DEMO_DEFAULTS, ...o, apiUrl: program.opts<GlobalOpts>().apiUrl, adminKey: o.adminKey ?? '' });
      },
    );

  const tenants = program.command('tenants').description('tenants (admin key)');
  tenants
    .command('create <id>')
    .description('create a tenant and an API key for it (the key is shown once)')
    .option('--name <name>', 'display name')
    .addOption(adminKeyOption())
    .action(async (id: string, o: { name?: string; adminKey?: string }) => {
      if (!o.adminKey)
        throw new ColaApiError(
          0,
          'missing_admin_key',
          `no admin key: set ${ENV.GATEWAY_ADMIN_KEY} (\`cola up\` prints it) or pass --admin-key`,
        );
      const c = client(false);
      const { api_key: key, ...tenant } = await c.createTenant(id, o.name ?? id, o.adminKey);
      print(
        { tenant, api_key: key },
        () => `tenant ${tenant.id} created\nAPI key (shown once): ${key.key}\n  export ${ENV.COLA_API_KEY}=${key.key}`,
      );
    });

  const files = program.command('files').description('training and validation files');
  files
    .command('upload <path>')
    .description('upload a JSONL file of {"text","label"} (classification) or {"prompt","completion"} (causal LM) rows')
    .action(async (path: string) => {
      const f = await client().upload(readFileSync(path), basename(path));
      print(f, () => `${f.id}  ${f.filename}  ${f.rows} rows  ${f.kind ?? ''}`);
    });

  const jobs = program.command('jobs').description('fine-tuning jobs');
  jobs
    .command('create')
    .description('create a ColA fine-tuning job')
    .requiredOption('--training-file <id>', 'uploaded training file id')
    .option('--validation-file <id>', 'uploaded validation file id (final evaluation)')
    .option('--model <name>', 'base model', 'cola-tiny')
    .addOption(new Option('--aux <type>', 'aux model of the adapted layers').choices(AUX_TYPES).default('lowrank'))
    .option('--rank <n>', 'lowrank rank', positiveInt)
    .option('--epochs <n>', 'passes over the training file', positiveInt)
    .option('--batch-size <n>', 'examples per host batch', positiveInt)
    .option('--learning-rate <x>', 'peak learning rate of the aux optimizer', positiveNumber)
    .option('--max-length <n>', 'tokens per example', positiveInt)
    .option('--interval <n>', 'adaptation interval I (host batches per fit step)', positiveInt)
    .option('--seed <n>', 'seed', (v) => Number(v))
    .option('--watch', 'watch it until it ends')
    .action(
      async (o: {
        trainingFile: string;
        validationFile?: string;
        model: string;
        aux: AuxType;
        rank?: number;
        epochs?: number;
        batchSize?: number;
        learningRate?: number;
        maxLength?: number;
        interval?: number;
        seed?: number;
        watch?: boolean;
      }) => {
        const req: CreateJobRequest = {
          model: o.model,
          training_file: o.trainingFile,
          ...(o.validationFile ? { validation_file: o.validationFile } : {}),
          method: { aux: { type: o.aux, ...(o.rank ? { rank: o.rank } : {}) }, ...(o.interval ? { interval: o.interval } : {}) },
          hyperparameters: {
            ...(o.epochs ? { n_epochs: o.epochs } : {}),
            ...(o.batchSize ? { batch_size: o.batchSize } : {}),
            ...(o.learningRate ? { learning_rate: o.learningRate } : {}),
            ...(o.maxLength ? { max_length: o.maxLength } : {}),
          },
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
        };
        const c = client();
        const job = await c.createJob(req);
        print(job, () => `${job.id} ${job.status} (${job.task}, ${job.method.aux.type} aux)`);
        if (o.watch) await watchOne(c, job.id);
      },
    );
  jobs
    .command('list')
    .description('your jobs, newest first')
    .option('--limit <n>', 'how many', positiveInt, 20)
    .action(async (o: { limit: number }) => {
      const page = await client().listJobs(o.limit);
      print(page, () => (page.data.length ? page.data.map(jobLine).join('\n') : 'no jobs yet'));
    });
  jobs
    .command('get <job_id>')
    .description('one job as JSON (a failed job also says why on stderr)')
    .action(async (id: string) => {
      const job = await client().getJob(id);
      out(JSON.stringify(job, null, 2));
      if (job.error) process.stderr.write(`${job.id} ${job.status}: ${job.error.code}: ${job.error.message}\n`);
    });
  jobs
    .command('cancel <job_id>')
    .description('cancel a queued or running job')
    .action(async (id: string) => {
      const job = await client().cancelJob(id);
      print(job, () => `${job.id} ${job.status}`);
    });
  jobs
    .command('watch <job_id>')
    .description('a live progress bar with a loss sparkline until the job ends')
    .action(async (id: string) => watchOne(client(), id));

  program
    .command('predict <model> <text...>')
    .description('classify texts with a classification model, or continue a prompt with --generate')
    .option('--generate', 'text completion instead of classification')
    .option('--max-tokens <n>', 'tokens to generate', positiveInt, 32)
    .action(async (model: string, text: string[], o: { generate?: boolean; maxTokens: number }) => {
      const c = client();
      if (o.generate) {
        const r = await c.complete(model, text.join(' '), o.maxTokens);
        print(r, () => text.join(' ') + r.choices[0]!.text);
        return;
      }
      const r = await c.classify(model, text);
      print(r, () =>
        r.data.map((d, i) => `${d.label}\t${(d.scores.find((s) => s.label === d.label)?.score ?? 0).toFixed(3)}\t${text[i]}`).join('\n'),
      );
    });

  return program;
}

async function watchOne(c: ColaApiClient, id: string): Promise<void> {
  const [r] = await watchJobs([{ label: id, jobId: id, client: c }]);
  const job = r!.job;
  out(
    `${job.id} ${job.status}${job.result ? `: validation ${resultText(job.result)}` : ''}${job.fine_tuned_model ? `; model ${job.fine_tuned_model}` : ''}${job.error ? ` (${job.error.code}: ${job.error.message})` : ''}`,
  );
  if (job.status !== 'succeeded') process.exitCode = 1;
}

/** Runs the program; API errors print the gateway's code and message and exit 1. */
export async function runCli(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (e) {
    process.stderr.write(`${e instanceof ColaApiError ? e.describe() : `error: ${(e as Error).message}`}\n`);
    process.exitCode = 1;
  }
}
