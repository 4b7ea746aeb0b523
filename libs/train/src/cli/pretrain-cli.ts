/**
 * `npm run pretrain -- [options]`: pretrains the byte-level base model "cola-tiny" and writes its
 * checkpoint, tokenizer description and model card.
 */
import { cpus } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Command } from 'commander';
import { initBackend } from '@cola/gl';
import { ByteTokenizer } from '@cola/data';
import { saveCheckpoint } from '@cola/model';
import { pretrain } from '../pretrain/pretrain';
import { PRETRAIN_DEFAULTS } from '../pretrain/pretrain-options';
import { renderModelCard } from '../pretrain/model-card';
import { createProgressBar } from '../progress/progress-bar';
import { DEFAULT_BASE_MODEL_DIR } from '../model-paths';
import { int, num } from './cli-args';

const d = PRETRAIN_DEFAULTS;
const program = new Command('pretrain')
  .description('Pretrain the byte-level base model "cola-tiny" on the State of the Union addresses and Moby Dick.')
  .option('--steps <n>', 'optimizer steps (about 1.6 s each at the defaults on one core)', int, d.steps)
  .option('--batch <n>', 'sequences per step', int, d.batch)
  .option('--seq <n>', 'bytes per sequence (also the context length)', int, d.seqLen)
  .option('--out <dir>', 'output checkpoint directory', DEFAULT_BASE_MODEL_DIR)
  .option('--seed <n>', 'seed of init and window sampling', int, d.seed)
  .option('--lr <lr>', 'peak AdamW learning rate', num, d.lr)
  .option('--n-embd <n>', 'model width', int, d.nEmbd)
  .option('--n-layer <n>', 'transformer blocks', int, d.nLayer)
  .option('--n-head <n>', 'attention heads', int, d.nHead)
  .option('--eval-windows <n>', 'held-out windows scored at the end', int, d.evalWindows)
  .option('--warmup <fraction>', 'fraction of the steps spent in the linear warmup', num, d.warmupFraction)
  .option('--run-dir <dir>', 'save checkpoint + optimizer + state here during the run; a second start on it resumes')
  .option('--init-from <dir>', 'start from this checkpoint instead of a random init (e.g. models/cola-tiny)')
  .option('--checkpoint-every <n>', 'steps between saves into --run-dir', int, 50)
  .option('--eval-every <n>', 'steps between held-out curve points (0 = none)', int, 0)
  .option('--curve-windows <n>', 'held-out windows per curve point', int, 128)
  .option('--name <name>', 'model name written into the card and the checkpoint metadata', 'cola-tiny')
  .option('--quiet', 'no progress bar', false);

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{
    steps: number;
    batch: number;
    seq: number;
    out: string;
    seed: number;
    lr: number;
    nEmbd: number;
    nLayer: number;
    nHead: number;
    evalWindows: number;
    warmup: number;
    runDir?: string;
    initFrom?: string;
    checkpointEvery: number;
    evalEvery: number;
    curveWindows: number;
    name: string;
    quiet: boolean;
  }>();
  // On a resumed run only an explicit --steps overrides what the run was started with.
  const explicitSteps = program.getOptionValueSource('steps') === 'cli';
  const backend = await initBackend();
  const bar = createProgressBar({ label: 'pretrain cola-tiny', total: o.steps, quiet: o.quiet });
  const result = await pretrain(
    {
      ...(explicitSteps || !o.runDir ? { steps: o.steps } : {}),
      warmupFraction: o.warmup,
      batch: o.batch,
      seqLen: o.seq,
      seed: o.seed,
      lr: o.lr,
      nEmbd: o.nEmbd,
      nLayer: o.nLayer,
      nHead: o.nHead,
      evalWindows: o.evalWindows,
    },
    {
      onStep: (s) => bar.update(s.step, { loss: s.loss, tokensPerSecond: s.tokensPerSecond, extra: `| lr ${s.lr.toExponential(2)}` }),
      onPhase: (phase, detail) => {
        if (phase === 'eval') bar.stop();
        process.stderr.write(`[pretrain] ${detail}\n`);
      },
      onCurve: (p) =>
        process.stderr.write(
          `[pretrain] step ${p.step}: ${p.tokensSeen} tokens seen, held-out perplexity ${p.perplexity.toFixed(3)} per byte\n`,
        ),
    },
    { runDir: o.runDir, initFrom: o.initFrom, checkpointEvery: o.checkpointEvery, evalEvery: o.evalEvery, curveWindows: o.curveWindows },
  );
  const tok = new ByteTokenizer();
  await saveCheckpoint(o.out, result.model, {
    metadata: { name: o.name, tokenizer: 'byte-level', steps: String(result.options.steps), tokens_seen: String(result.tokensSeen) },
  });
  await writeFile(join(o.out, 'tokenizer.json'), `${JSON.stringify(tok.toJSON(), null, 2)}\n`);
  const outArg = relative(process.cwd(), o.out) || '.';
  const r = result.options;
  const runArgs = o.runDir
    ? ` --warmup ${r.warmupFraction}${result.initFrom ? ` --init-from ${relative(process.cwd(), result.initFrom) || '.'}` : ''} --run-dir <dir> --eval-every ${o.evalEvery} --curve-windows ${o.curveWindows} --name ${o.name}`
    : '';
  const command = `npm run pretrain -- --steps ${r.steps} --batch ${r.batch} --seq ${r.seqLen} --seed ${r.seed} --lr ${r.lr} --n-embd ${r.nEmbd} --n-layer ${r.nLayer} --n-head ${r.nHead} --eval-windows ${r.evalWindows}${runArgs} --out ${outArg}`;
  const cpu = cpus();
  const card = renderModelCard(result, {
    command,
    machine: `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores (training uses one), node ${process.version}`,
    backend,
    date: new Date().toISOString().slice(0, 10),
    name: o.name,
  });
  await writeFile(join(o.out, 'README.md'), card);
  result.model.dispose();
  process.stderr.write(
    `[pretrain] wrote ${o.out}: held-out perplexity ${result.heldOut.perplexity.toFixed(2)} per byte ` +
      `(unigram ${result.unigram.perplexity.toFixed(2)}), ${(result.totalSeconds / 60).toFixed(1)} min\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`pretrain failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
