/**
 * `npm run bench:quality`: fine-tunes cola-tiny on a fixed SpamAssassin subset with every method
 * and prints one table, measured side by side in one run on this machine:
 * test accuracy, final train loss, host step ms, host tokens/s and peak tensor bytes on the host.
 *
 * Flags: --train N (default 2000), --test N (default 500), --epochs N (default 1),
 *        --batch N (default 32), --max-length N (default 128), --lr X (default 5e-3, AdamW),
 *        --only name,name
 */
import { cpus } from 'node:os';
import { initBackend, tf } from '@cola/gl';
import { loadCheckpoint } from '@cola/model';
import { DEFAULT_BASE_MODEL_DIR, finetune, spamTask, type FinetuneOptionsInput } from '@cola/train';
import { arg, numberFlag } from './support/flags';

const onlyFlag = arg('only');
const only = onlyFlag !== undefined ? new Set(onlyFlag.split(',')) : undefined;

const RUNS: { name: string; opts: Omit<FinetuneOptionsInput, 'task' | 'epochs' | 'batchSize' | 'maxLength' | 'seed'> }[] = [
  { name: 'head only (frozen base)', opts: { method: 'head' } },
  { name: 'LoRA r=8', opts: { method: 'lora', aux: { type: 'lowrank', rank: 8, scale: 1 } } },
  { name: 'ColA lowrank r=8 unmerged', opts: { method: 'cola', aux: { type: 'lowrank', rank: 8, scale: 1 }, interval: 1, merged: false } },
  { name: 'ColA lowrank r=8 merged', opts: { method: 'cola', aux: { type: 'lowrank', rank: 8, scale: 1 }, interval: 1, merged: true } },
  { name: 'ColA linear merged', opts: { method: 'cola', aux: { type: 'linear', bias: false }, interval: 1, merged: true } },
  { name: 'ColA mlp', opts: { method: 'cola', aux: { type: 'mlp', hidden: [128, 256] }, interval: 1, merged: false } },
];

async function main(): Promise<void> {
  const backend = await initBackend();
  const trainSize = numberFlag('train', 2000);
  const testSize = numberFlag('test', 500);
  const common = {
    epochs: numberFlag('epochs', 1),
    batchSize: numberFlag('batch', 32),
    maxLength: numberFlag('max-length', 128),
    seed: 0,
    optimizer: { type: 'adamw', lr: numberFlag('lr', 5e-3), weightDecay: 5e-4 },
  };
  const data = spamTask({ trainSize, evalSize: testSize });
  console.log(
    `cola-tiny on SpamAssassin: ${data.trainSize} train / ${data.evalSize} test e-mails, ${common.epochs} epoch(s), batch ${common.batchSize}, ${common.maxLength} bytes, AdamW lr ${common.optimizer.lr}`,
  );
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, node ${process.version}, tfjs backend ${backend}\n`);

  const rows: string[][] = [];
  for (const run of RUNS) {
    if (only && !only.has(run.name.split(' ')[0]!.toLowerCase())) continue;
    // A fresh base per run: the classifier head is part of the frozen base and is re-initialised by seed.
    const model = await loadCheckpoint(DEFAULT_BASE_MODEL_DIR);
    const r = await finetune(model, data, { ...common, ...run.opts }, { measurePeakBytes: true });
    const acc = r.after!.value;
    const tail = r.losses.slice(-10);
    rows.push([
      run.name,
      `${(100 * acc).toFixed(2)}%`,
      (tail.reduce((a, b) => a + b, 0) / tail.length).toFixed(4),
      r.hostStepMs.toFixed(1),
      Math.round(r.hostTokensPerSecond).toString(),
      ((r.peakHostBytes ?? 0) / 2 ** 20).toFixed(2),
      r.wallSeconds.toFixed(0),
    ]);
    r.adapters.dispose();
    model.dispose();
    if (tf.memory().numTensors > 0) console.error(`warning: ${tf.memory().numTensors} tensors left after ${run.name}`);
  }
  const head = ['run', 'test acc', 'final train loss', 'host ms/step', 'host tok/s', 'peak host MiB', 'wall s'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
