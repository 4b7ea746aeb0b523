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
    quiet: boolean;
  }>();
  const backend = await initBackend();
  const bar = createProgressBar({ label: 'pretrain cola-tiny', total: o.steps, quiet: o.quiet });
  const result = await pretrain(
    {
      steps: o.steps,
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
    },
  );
  const tok = new ByteTokenizer();
  await saveCheckpoint(o.out, result.model, {
    metadata: { name: 'cola-tiny', tokenizer: 'byte-level', steps: String(o.steps), tokens_seen: String(result.tokensSeen) },
  });
  await writeFile(join(o.out, 'tokenizer.json'), `${JSON.stringify(tok.toJSON(), null, 2)}\n`);
  const outArg = relative(process.cwd(), o.out) || '.';
  const command = `npm run pretrain -- --steps ${o.steps} --batch ${o.batch} --seq ${o.seq} --seed ${o.seed} --lr ${o.lr} --n-embd ${o.nEmbd} --n-layer ${o.nLayer} --n-head ${o.nHead} --eval-windows ${o.evalWindows} --out ${outArg}`;
  const cpu = cpus();
  const card = renderModelCard(result, {
    command,
    machine: `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores (training uses one), node ${process.version}`,
    backend,
    date: new Date().toISOString().slice(0, 10),
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
