/**
 * `npm run bench:tasks`: the multi-task quality bench. Tasks the project was never tuned on, built
 * from text that npm packages ship (libs/train/src/tasks/bench-tasks.ts, deterministic splits):
 * three text-classification tasks on 500-900-character passages plus causal LM on e-mail bodies.
 * For each classification task it prints, measured in one run on this machine:
 *   majority baseline, naive Bayes on words (whole input), head-only, in-process LoRA with the
 *   tuned settings, ColA with every setting `auto`, ColA tuned, and wall times.
 * "Tuned" = the best learning rate of a small grid for ColA lowrank r8, chosen on a validation
 * split carved from the training rows (the last 20%), then retrained on all training rows.
 * For the LM task: base perplexity, ColA auto and ColA tuned perplexities.
 *
 * Flags: --train N --test N (rows per classification task, default 400 / 200),
 *        --min-chars N --max-chars N (passage length, default 500 / 900),
 *        --tasks a,b (task names), --runs a,b (head,lora,auto,tuned), --grid 3e-3,1e-2,3e-2,
 *        --max-steps N (bound every fine-tuning run, grid included, at N batches: the learning-rate
 *        schedule is laid over the bounded run; the output says when a run was cut short of what
 *        its settings ask for), --base <checkpoint dir> (default models/cola-tiny),
 *        --range-test (the auto run takes its learning rate from Smith's range test, runLrRangeTest,
 *        when the test reads one; the test's 12 steps are printed and not counted in the run)
 */
import { cpus, loadavg } from 'node:os';
import { ByteTokenizer } from '@cola/data';
import { initBackend, tf } from '@cola/gl';
import { loadCheckpoint, readCheckpointConfig } from '@cola/model';
import {
  benchTasks,
  BENCH_TASK_SIZES,
  chooseAutoHyperparameters,
  classificationTask,
  DEFAULT_BASE_MODEL_DIR,
  describeAutoChoices,
  evaluate,
  finetune,
  languageModelTask,
  majorityAccuracy,
  NaiveBayes,
  runLrRangeTest,
  type BenchTask,
  type FinetuneOptionsInput,
  type TaskData,
} from '@cola/train';
import { arg, hasFlag } from './support/flags';

const num = (name: string, dflt: number): number => Number(arg(name) ?? dflt);
const list = (name: string): Set<string> | undefined => (arg(name) ? new Set(arg(name)!.split(',')) : undefined);

const AUX = { type: 'lowrank', rank: 8, scale: 1, dropout: 0 } as const;
/** Tokens one input may take: the bench has no host memory budget, so the windows' own cap (8 x the 128-token context). */
const TOKEN_CAP = 8 * 128;
const tok = new ByteTokenizer();
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

interface Settings {
  lr: number;
  epochs: number;
  batchSize: number;
  maxLength: number;
  maxWindows: number;
}

/** Every fine-tuning run's batch bound (--max-steps), undefined = none. */
const MAX_STEPS = arg('max-steps') ? Number(arg('max-steps')) : undefined;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');

function dataOf(task: BenchTask, maxWindows: number, train = task.train, test = task.test): TaskData {
  if (task.kind === 'classification') {
    return classificationTask(task.name, train as typeof task.train, test as typeof task.test, task.labels, { maxWindows });
  }
  return languageModelTask(task.name, train as string[], test as string[]);
}

function autoSettings(task: BenchTask, context: number): { s: Settings; why: string } {
  const rows = task.kind === 'classification' ? task.train.map((r) => r.text) : task.train;
  const rowTokens =
    task.kind === 'classification' ? rows.map((t) => tok.encode(t).length) : [rows.reduce((n, t) => n + tok.encode(t).length, 0)];
  const a = chooseAutoHyperparameters({ task: task.kind, aux: AUX, trainRows: rows.length, rowTokens, context, tokenCap: TOKEN_CAP });
  return {
    s: { lr: a.lr, epochs: a.epochs, batchSize: a.batchSize, maxLength: a.maxLength, maxWindows: a.maxWindows },
    why: describeAutoChoices(a.choices),
  };
}

async function run(
  base: string,
  data: TaskData,
  method: 'cola' | 'lora' | 'head',
  s: Settings,
): Promise<{ value: number; seconds: number; losses: number[]; steps: number; wanted: number }> {
  const model = await loadCheckpoint(base);
  const t0 = performance.now();
  const opts: Omit<FinetuneOptionsInput, 'task'> = {
    method,
    ...(method === 'head' ? {} : { aux: AUX }),
    optimizer: { type: 'adamw', lr: s.lr, weightDecay: 5e-4 },
    epochs: s.epochs,
    batchSize: s.batchSize,
    maxLength: s.maxLength,
    maxSteps: MAX_STEPS,
    seed: 0,
  };
  const wanted = data.train({ batchSize: s.batchSize, maxLength: s.maxLength, seed: 0, epoch: 0 }).numBatches * s.epochs;
  const r = await finetune(model, data, opts, { quiet: true });
  const seconds = (performance.now() - t0) / 1000;
  r.adapters.dispose();
  model.dispose();
  return { value: r.after!.value, seconds, losses: r.losses, steps: r.steps, wanted };
}

async function main(): Promise<void> {
  const backend = await initBackend({ log: null });
  const base = arg('base') ?? DEFAULT_BASE_MODEL_DIR;
  const context = (await readCheckpointConfig(base)).nPositions;
  const sizes = {
    ...BENCH_TASK_SIZES,
    train: num('train', BENCH_TASK_SIZES.train),
    test: num('test', BENCH_TASK_SIZES.test),
    minChars: num('min-chars', BENCH_TASK_SIZES.minChars),
    maxChars: num('max-chars', BENCH_TASK_SIZES.maxChars),
  };
  const onlyTasks = list('tasks');
  const runs = list('runs') ?? new Set(['head', 'lora', 'auto', 'tuned']);
  const grid = (arg('grid') ?? '3e-3,1e-2,3e-2').split(',').map(Number);
  console.log(
    `base ${base} (context ${context}); machine: ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, node ${process.version}, tfjs ${backend}`,
  );
  console.log(
    `splits: ${sizes.train} train / ${sizes.test} test rows per classification task, passages ${sizes.minChars}-${sizes.maxChars} chars`,
  );
  console.log(
    `${MAX_STEPS ? `every fine-tuning run bounded at ${MAX_STEPS} batches (--max-steps)` : 'runs unbounded'}; start ${new Date().toISOString()}, load average ${load()}\n`,
  );
  const table: string[][] = [];
  for (const task of benchTasks(sizes)) {
    if (onlyTasks && !onlyTasks.has(task.name)) continue;
    console.log(`== ${task.name}: ${task.description}`);
    const auto = autoSettings(task, context);
    console.log(`   auto: ${auto.why}`);
    const cells: Record<string, string> = {};
    const tTask = performance.now();
    if (task.kind === 'classification') {
      cells.majority = pct(majorityAccuracy(task.train, task.test));
      cells.bow = pct(new NaiveBayes(task.train, task.labels).accuracy(task.test, task.labels));
    } else {
      const model = await loadCheckpoint(base);
      cells.majority = '-';
      cells.bow = `base ppl ${evaluate(model, dataOf(task, 1).evaluation({ batchSize: 16, maxLength: context })).value.toFixed(3)}`;
      model.dispose();
    }
    console.log(`   majority ${cells.majority}, bag-of-words ${cells.bow}`);
    const fmt = (v: number): string => (task.kind === 'classification' ? pct(v) : `ppl ${v.toFixed(3)}`);
    const better = (a: number, b: number): boolean => (task.kind === 'classification' ? a > b : a < b);
    const data = dataOf(task, auto.s.maxWindows);
    let autoRun: Awaited<ReturnType<typeof run>> | undefined;
    if (runs.has('auto')) {
      if (hasFlag('range-test')) {
        const model = await loadCheckpoint(base);
        const t0 = performance.now();
        const rt = await runLrRangeTest(model, data, {
          method: 'cola',
          aux: AUX,
          optimizer: { type: 'adamw', lr: auto.s.lr, weightDecay: 5e-4 },
          batchSize: auto.s.batchSize,
          maxLength: auto.s.maxLength,
          seed: 0,
        });
        model.dispose();
        console.log(
          `   range test (${((performance.now() - t0) / 1000).toFixed(0)} s): ${rt.lrs.map((lr, i) => `${lr.toPrecision(2)}:${rt.losses[i]!.toFixed(3)}`).join(' ')} -> ${rt.lr ?? `keep ${auto.s.lr}`} (${rt.why})`,
        );
        if (rt.lr !== undefined) auto.s.lr = rt.lr;
      }
      autoRun = await run(base, data, 'cola', auto.s);
      const r = autoRun;
      const head = r.losses.slice(0, 5);
      const tail = r.losses.slice(-5);
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      console.log(
        `   auto: ${r.steps} steps${r.steps < r.wanted ? ` (its settings ask for ${r.wanted}; bounded by --max-steps)` : ''}, train loss ${mean(head).toFixed(3)} -> ${mean(tail).toFixed(3)}`,
      );
      cells.auto = `${fmt(r.value)} (${r.seconds.toFixed(0)} s)`;
      console.log(`   ColA auto: ${cells.auto}`);
    }
    if (runs.has('head') && task.kind === 'classification') {
      const r = await run(base, data, 'head', { ...auto.s, lr: 1e-2 });
      cells.head = `${fmt(r.value)} (${r.seconds.toFixed(0)} s)`;
      console.log(`   head-only: ${cells.head}`);
    }
    let tuned: Settings | undefined;
    if (runs.has('tuned') || runs.has('lora')) {
      // Grid on a validation split: the last 20% of the training rows.
      const cut = Math.floor(task.train.length * 0.8);
      const fitRows = task.train.slice(0, cut);
      const valRows = task.train.slice(cut);
      let best: { lr: number; v: number } | undefined;
      for (const lr of grid) {
        const r = await run(base, dataOf(task, auto.s.maxWindows, fitRows as never, valRows as never), 'cola', { ...auto.s, lr });
        console.log(`   grid lr ${lr}: validation ${fmt(r.value)} (${r.seconds.toFixed(0)} s)`);
        if (!best || better(r.value, best.v)) best = { lr, v: r.value };
      }
      tuned = { ...auto.s, lr: best!.lr };
      cells.tunedLr = String(best!.lr);
      console.log(`   tuned lr ${best!.lr} (auto lr ${auto.s.lr})`);
    }
    if (runs.has('tuned') && tuned) {
      // Runs are deterministic (seed 0): the tuned settings equal to auto's give auto's run, not run twice.
      const same = autoRun && tuned.lr === auto.s.lr;
      const r = same ? autoRun! : await run(base, data, 'cola', tuned);
      cells.tuned = `${fmt(r.value)} (${same ? 'the auto run' : `${r.seconds.toFixed(0)} s`})`;
      console.log(`   ColA tuned: ${cells.tuned}`);
    }
    if (runs.has('lora') && tuned) {
      const r = await run(base, data, 'lora', tuned);
      cells.lora = `${fmt(r.value)} (${r.seconds.toFixed(0)} s)`;
      console.log(`   LoRA tuned: ${cells.lora}`);
    }
    cells.wall = `${((performance.now() - tTask) / 1000).toFixed(0)} s`;
    table.push([
      task.name,
      cells.majority,
      cells.bow,
      cells.head ?? '-',
      cells.lora ?? '-',
      cells.auto ?? '-',
      cells.tuned ?? '-',
      cells.tunedLr ?? '-',
      cells.wall,
    ]);
    console.log(`   ${JSON.stringify(cells)}`);
    if (tf.memory().numTensors > 0) console.error(`warning: ${tf.memory().numTensors} tensors left after ${task.name}`);
  }
  const head = ['task', 'majority', 'bag-of-words (NB)', 'head-only', 'LoRA tuned', 'ColA auto', 'ColA tuned', 'tuned lr', 'wall'];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of table) console.log(line(r));
  console.log(`\nend ${new Date().toISOString()}, load average ${load()}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
