import type { PretrainResult } from './pretrain';

/** Facts about the run that the trainer itself does not know. */
export interface ModelCardContext {
  /** The exact command that produced the checkpoint. */
  command: string;
  /** Machine description, e.g. CPU model and core count. */
  machine: string;
  /** The tfjs backend used. */
  backend: string;
  /** ISO date of the run. */
  date: string;
  /** Model name (the card's title); default cola-tiny. */
  name?: string;
  /** File name of the perplexity-curve plot next to the card, when one was rendered. */
  plot?: string;
}

const fmt = (x: number, digits = 3): string => x.toFixed(digits);

/** Renders the model card (README.md) of a pretrained checkpoint from the run's measurements. */
export function renderModelCard(r: PretrainResult, ctx: ModelCardContext): string {
  const o = r.options;
  const c = r.model.config;
  const bitsPerByte = (nll: number): string => fmt(nll / Math.log(2));
  const lines = [
    `# ${ctx.name ?? 'cola-tiny'}`,
    '',
    'A tiny byte-level GPT-2-style decoder, pretrained in this repository so that demos, tests and',
    'benchmarks have a real base model without downloading anything. Produced by `npm run pretrain`',
    '(libs/train/src/pretrain); every number below was measured by that run and written by it.',
    '',
    '## Architecture',
    '',
    `- GPT-2 layout (pre-LayerNorm, causal multi-head attention, GELU tanh MLP, learned positions, LM head tied to \`wte\`)`,
    `- vocab ${c.vocabSize} (byte-level: ids 0-255 are UTF-8 bytes, 256 = pad, 257 = eos), context ${c.nPositions}`,
    `- n_embd ${c.nEmbd}, n_layer ${c.nLayer}, n_head ${c.nHead}: ${r.parameters.toLocaleString('en-US')} parameters`,
    '- files: `config.json` (GPT-2 field names), `model.safetensors` (GPT-2 tensor names, F32), `tokenizer.json`',
    '',
    '## Data',
    '',
    'Public-domain text shipped in npm packages (nothing is downloaded). Each document ends with eos.',
    `The last ${o.heldOutFraction * 100}% of each source's token stream is held out and never trained on.`,
    '',
    '| source | documents | train tokens (bytes) | held-out tokens |',
    '|---|---:|---:|---:|',
    ...r.sources.map(
      (s) => `| ${s.name} | ${s.documents} | ${s.trainTokens.toLocaleString('en-US')} | ${s.heldOutTokens.toLocaleString('en-US')} |`,
    ),
    '',
    '## Training',
    '',
    ...(r.initFrom
      ? [
          `- continued from the checkpoint \`${r.initFrom.split('/').slice(-2).join('/')}\`, which had seen ${r.initialTokens.toLocaleString('en-US')} tokens (fresh AdamW state, new warmup)`,
        ]
      : []),
    `- ${o.steps} steps x batch ${o.batch} x ${o.seqLen} tokens = ${(r.tokensSeen - r.initialTokens).toLocaleString('en-US')} tokens in this run, ${r.tokensSeen.toLocaleString('en-US')} tokens seen in total (windows sampled uniformly from the training text, seed ${o.seed})`,
    `- AdamW (betas 0.9/0.95, weight decay ${o.weightDecay} on matrices only), peak lr ${o.lr}, linear warmup ${o.warmupFraction * 100}% then linear decay to 0, gradient-norm clip ${o.clipNorm}`,
    // A resumed run's training time spans every process of the run; the total is this process's.
    `- wall time: ${fmt(r.trainSeconds / 60, 1)} min training (every process of the run), ${fmt(r.totalSeconds / 60, 1)} min in the process that finished it (${Math.round((r.tokensSeen - r.initialTokens) / r.trainSeconds)} tokens/s)`,
    `- machine: ${ctx.machine}; tfjs backend: ${ctx.backend}; date: ${ctx.date}`,
    '',
    'Training loss (nats per byte), mean over each tenth of the run:',
    '',
    '| up to step | loss |',
    '|---:|---:|',
    ...r.lossCurve.map((p) => `| ${p.step} | ${fmt(p.loss)} |`),
    '',
    '## Held-out evaluation',
    '',
    `${r.evalWindows} windows of ${o.seqLen} bytes, evenly spaced over the held-out text; ${r.heldOut.tokens.toLocaleString('en-US')} next-byte targets.`,
    'Both rows score exactly the same targets.',
    '',
    '| model | NLL (nats/byte) | bits per byte | perplexity (per byte) |',
    '|---|---:|---:|---:|',
    `| ${ctx.name ?? 'cola-tiny'} | ${fmt(r.heldOut.nll)} | ${bitsPerByte(r.heldOut.nll)} | ${fmt(r.heldOut.perplexity, 2)} |`,
    `| unigram baseline (byte frequencies of the training text, add-one smoothed) | ${fmt(r.unigram.nll)} | ${bitsPerByte(r.unigram.nll)} | ${fmt(r.unigram.perplexity, 2)} |`,
    '',
    ...(r.curve.length
      ? [
          '## Held-out perplexity against tokens seen',
          '',
          `Scored during the run on ${r.curveWindows} of the held-out windows (fewer than the ${r.evalWindows} of the table above, so its last row differs slightly from that table).`,
          '',
          ...(ctx.plot ? [`![held-out perplexity against tokens seen](${ctx.plot})`, ''] : []),
          '| step | tokens seen | NLL (nats/byte) | perplexity (per byte) |',
          '|---:|---:|---:|---:|',
          ...r.curve.map((p) => `| ${p.step} | ${p.tokensSeen.toLocaleString('en-US')} | ${fmt(p.nll)} | ${fmt(p.perplexity, 2)} |`),
          '',
        ]
      : []),
    '## Reproduce',
    '',
    '```',
    ctx.command,
    '```',
    '',
    'Runs are deterministic for a given seed on the same backend; wall time depends on the machine.',
    '',
  ];
  return lines.join('\n');
}
