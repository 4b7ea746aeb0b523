/**
 * `npm run finetune -- [options]`: fine-tunes a base checkpoint in one process with ColA or LoRA
 * and prints the evaluation before and after.
 */
import { Command, Option } from 'commander';
import { AUX_TYPES, initBackend, type AuxType } from '@cola/gl';
import { loadCheckpoint } from '@cola/model';
import { finetune } from '../finetune/finetune';
import { FINETUNE_METHODS } from '../finetune/finetune-options';
import { mobyDickTask, spamTask, type TaskData } from '../finetune/task-data';
import { DEFAULT_BASE_MODEL_DIR } from '../model-paths';
import { int, num } from './cli-args';

const program = new Command('finetune')
  .description('Fine-tune the base model in one process with ColA (Gradient Learning) or LoRA (back-propagation).')
  .addOption(new Option('--method <method>', 'training method').choices(FINETUNE_METHODS).default('cola'))
  .addOption(
    new Option('--task <task>', 'spam: SpamAssassin classification; moby: Moby Dick causal LM').choices(['spam', 'moby']).default('spam'),
  )
  .addOption(new Option('--aux <type>', 'aux model of the adapted layers (cola and lora)').choices(AUX_TYPES).default('lowrank'))
  .option('--rank <n>', 'lowrank rank', int, 8)
  .option('--scale <s>', 'lowrank scale', num, 1)
  .option('--hidden <sizes>', 'mlp hidden sizes, comma separated', '128,256')
  .option('--targets <modules>', 'adapted modules, comma separated (default c_attn,score for spam; c_attn for moby)')
  .option('--merged', 'cola: train on W + dW instead of adding g(X)', false)
  .option('--interval <I>', 'cola: adaptation interval (batches per fit step)', int)
  .option('--lr <lr>', 'learning rate (AdamW)', num, 1e-3)
  .option('--epochs <n>', 'passes over the training data', int, 1)
  .option('--max-steps <n>', 'stop after this many batches', int)
  .option('--batch <n>', 'batch size', int, 32)
  .option('--max-length <n>', 'tokens (bytes) per sequence', int, 128)
  .option('--train-size <n>', 'training examples (spam) or chapters (moby)', int)
  .option('--eval-size <n>', 'held-out examples (spam) or chapters (moby)', int)
  .option('--seed <n>', 'seed of init and data order', int, 0)
  .option('--model <dir>', 'base checkpoint directory', DEFAULT_BASE_MODEL_DIR)
  .option('--quiet', 'no progress bar', false);

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{
    method: (typeof FINETUNE_METHODS)[number];
    task: 'spam' | 'moby';
    aux: AuxType;
    rank: number;
    scale: number;
    hidden: string;
    targets?: string;
    merged: boolean;
    interval?: number;
    lr: number;
    epochs: number;
    maxSteps?: number;
    batch: number;
    maxLength: number;
    trainSize?: number;
    evalSize?: number;
    seed: number;
    model: string;
    quiet: boolean;
  }>();
  await initBackend();
  const data: TaskData =
    o.task === 'spam'
      ? spamTask({ trainSize: o.trainSize, evalSize: o.evalSize })
      : mobyDickTask({ trainChapters: o.trainSize, evalChapters: o.evalSize });
  const aux =
    o.aux === 'lowrank'
      ? { type: 'lowrank', rank: o.rank, scale: o.scale }
      : o.aux === 'linear'
        ? { type: 'linear', bias: false }
        : { type: 'mlp', hidden: o.hidden.split(',').map((h) => int(h.trim())) };
  const model = await loadCheckpoint(o.model);
  console.error(`fine-tuning ${o.model} on ${data.name} (${data.trainSize} train, ${data.evalSize} eval) with ${o.method}`);
  const result = await finetune(
    model,
    data,
    {
      method: o.method,
      aux,
      targetModules: o.targets?.split(',').map((t) => t.trim()),
      merged: o.method === 'cola' ? o.merged : undefined,
      interval: o.method === 'cola' ? o.interval : undefined,
      optimizer: { type: 'adamw', lr: o.lr, weightDecay: 5e-4 },
      epochs: o.epochs,
      maxSteps: o.maxSteps,
      batchSize: o.batch,
      maxLength: o.maxLength,
      seed: o.seed,
    },
    { evaluateBefore: true, quiet: o.quiet },
  );
  const fmt = (r?: { metric: string; value: number }) =>
    r ? `${r.metric} ${r.metric === 'accuracy' ? (100 * r.value).toFixed(2) + '%' : r.value.toFixed(3)}` : '-';
  console.log(`before: ${fmt(result.before)}  after: ${fmt(result.after)}`);
  console.log(
    `steps ${result.steps}, final loss ${result.losses.at(-1)?.toFixed(4)}, host ${result.hostStepMs.toFixed(1)} ms/step, ${Math.round(result.hostTokensPerSecond)} host tokens/s, ${result.wallSeconds.toFixed(1)} s`,
  );
  result.adapters.dispose();
  model.dispose();
}

main().catch((err: unknown) => {
  console.error(`finetune: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
