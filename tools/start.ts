/**
 * `npm start`: the single-process demo. Fine-tunes the committed cola-tiny base on a SpamAssassin
 * subset with ColA (Gradient Learning, lowrank aux) and with LoRA (back-propagation) side by side,
 * and prints accuracy before and after. Offline; takes a couple of minutes on two cores.
 */
import { initBackend } from '@cola/gl';
import { loadCheckpoint } from '@cola/model';
import { DEFAULT_BASE_MODEL_DIR, finetune, spamTask } from '@cola/train';

async function main(): Promise<void> {
  await initBackend();
  const data = spamTask({ trainSize: 640, evalSize: 200 });
  const common = { aux: { type: 'lowrank', rank: 8, scale: 1 }, epochs: 1, batchSize: 32, maxLength: 96, seed: 0, optimizer: { type: 'adamw', lr: 2e-3, weightDecay: 5e-4 } };
  console.log(`ColA FTaaS demo: fine-tuning cola-tiny on ${data.trainSize} SpamAssassin e-mails, evaluating on ${data.evalSize} held out\n`);
  const results = [];
  for (const method of ['cola', 'lora'] as const) {
    const model = await loadCheckpoint(DEFAULT_BASE_MODEL_DIR);
    const r = await finetune(model, data, { ...common, method }, { evaluateBefore: true });
    results.push({ method, before: r.before!.value, after: r.after!.value, ms: r.hostStepMs, tps: r.hostTokensPerSecond });
    r.adapters.dispose();
    model.dispose();
  }
  console.log('\nmethod | accuracy before | accuracy after | host ms/step | host tokens/s');
  for (const r of results) {
    console.log(`${r.method.padEnd(6)} | ${(100 * r.before).toFixed(1).padStart(14)}% | ${(100 * r.after).toFixed(1).padStart(13)}% | ${r.ms.toFixed(0).padStart(12)} | ${Math.round(r.tps).toString().padStart(13)}`);
  }
  console.log('\nColA computed only the hidden-state gradients on the host; the adapter updates came from the Gradient Learning fit step.');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
