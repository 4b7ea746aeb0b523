import { clipGradNorm, createOptimizer, LinearSchedule, tf, type Optimizer } from '@cola/gl';
import { ByteTokenizer } from '@cola/data';
import { evaluatePerplexity, forward, initGptModel, lmLoss, type GptModel, type PerplexityResult } from '@cola/model';
import { buildPretrainCorpus, heldOutWindows, windowBatches, WindowSampler, type CorpusSource } from './pretrain-corpus';
import { resolvePretrainOptions, type PretrainOptions } from './pretrain-options';
import { unigramBaseline, type UnigramResult } from './unigram-baseline';

/** What {@link pretrain} reports after each optimizer step. */
export interface PretrainStepInfo {
  /** 1-based step number. */
  step: number;
  /** Training loss of this step's batch (nats per token). */
  loss: number;
  /** Learning rate used by this step. */
  lr: number;
  /** Training tokens per second, averaged since the start. */
  tokensPerSecond: number;
}

/** Hooks of {@link pretrain}. */
export interface PretrainHooks {
  /** Called after every step (progress bar). */
  onStep?: (info: PretrainStepInfo) => void;
  /** Called when the final evaluation starts and ends. */
  onPhase?: (phase: 'corpus' | 'train' | 'eval', detail: string) => void;
}

/** The trained model and everything the model card records. */
export interface PretrainResult {
  /** The trained model (frozen again); the caller disposes it. */
  model: GptModel;
  /** The resolved options of the run. */
  options: PretrainOptions;
  /** Parameters of the model. */
  parameters: number;
  /** The sources and their train/held-out sizes. */
  sources: CorpusSource[];
  /** Training tokens consumed (steps x batch x seqLen). */
  tokensSeen: number;
  /** Wall time of the training loop, seconds. */
  trainSeconds: number;
  /** Wall time of the whole run including data preparation and evaluation, seconds. */
  totalSeconds: number;
  /** Mean training loss over the first and last 10% of steps, and at every tenth of the run. */
  lossCurve: { step: number; loss: number }[];
  /** The model's held-out perplexity (per byte). */
  heldOut: PerplexityResult;
  /** The unigram baseline on exactly the same held-out targets. */
  unigram: UnigramResult;
  /** Held-out windows scored. */
  evalWindows: number;
}

/** Matrices are decayed; biases, LayerNorm gains and biases are not (as in GPT-2/nanoGPT training). */
function isDecayed(name: string): boolean {
  return name.endsWith('.weight') && !/(^|\.)ln_(1|2|f)\.weight$/.test(name);
}

/**
 * Pretrains a byte-level GPT ("cola-tiny") on the State of the Union addresses and Moby Dick:
 * random windows of the training text, AdamW (gl's, decoupled weight decay on matrices only),
 * linear warmup then linear decay, global-norm clipping. Finally scores the held-out tail of each
 * corpus and a unigram baseline on the same targets.
 */
export async function pretrain(raw: Partial<PretrainOptions> = {}, hooks: PretrainHooks = {}): Promise<PretrainResult> {
  const t0 = performance.now();
  const o = resolvePretrainOptions(raw);
  const tok = new ByteTokenizer();
  hooks.onPhase?.('corpus', 'tokenizing the corpora');
  const corpus = buildPretrainCorpus(tok, o.heldOutFraction);
  const sampler = new WindowSampler(corpus.train, o.seqLen, o.seed);

  const model = initGptModel(
    { vocabSize: tok.vocabSize, nPositions: o.seqLen, nEmbd: o.nEmbd, nLayer: o.nLayer, nHead: o.nHead, layerNormEpsilon: 1e-5 },
    { seed: o.seed, trainable: true },
  );
  const names = model.names();
  const byVarName = new Map(names.map((n) => [model.weight(n).name, n]));
  const groups: { params: Map<string, tf.Variable>; opt: Optimizer }[] = [true, false].map((decay) => ({
    params: new Map(names.filter((n) => isDecayed(n) === decay).map((n) => [n, model.weight(n)])),
    opt: createOptimizer({ type: 'adamw', lr: o.lr, betas: [0.9, 0.95], eps: 1e-8, weightDecay: decay ? o.weightDecay : 0 }),
  }));
  const schedule = new LinearSchedule({ peakLr: o.lr, totalSteps: o.steps, warmupFraction: o.warmupFraction });

  hooks.onPhase?.('train', `${model.parameterCount()} parameters, ${corpus.train.length} training tokens`);
  const losses: number[] = [];
  const tTrain = performance.now();
  for (let step = 0; step < o.steps; step++) {
    const batch = sampler.next(o.batch);
    // lrAt(0) is 0 in HF's schedule; start the count at 1 so no step is wasted at rate 0.
    const lr = schedule.lrAt(Math.min(step + 1, o.steps - 1));
    const { value, grads } = tf.variableGrads(() => lmLoss(forward(model, batch, { head: 'lm' }), batch), model.variables());
    const named = new Map<string, tf.Tensor>();
    for (const [varName, g] of Object.entries(grads)) named.set(byVarName.get(varName) as string, g);
    const { grads: clipped } = clipGradNorm(named, o.clipNorm);
    tf.dispose([...named.values()]);
    for (const g of groups) g.opt.step(g.params, new Map([...g.params.keys()].map((n) => [n, clipped.get(n) as tf.Tensor])), lr);
    tf.dispose([...clipped.values()]);
    const loss = value.dataSync()[0];
    value.dispose();
    if (!Number.isFinite(loss)) throw new Error(`pretraining diverged at step ${step + 1} (loss ${loss}); lower --lr`);
    losses.push(loss);
    const seconds = (performance.now() - tTrain) / 1000;
    hooks.onStep?.({ step: step + 1, loss, lr, tokensPerSecond: ((step + 1) * o.batch * o.seqLen) / seconds });
    // Yield to the event loop once per step: progress bars (and signals) are driven by timers.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const trainSeconds = (performance.now() - tTrain) / 1000;
  for (const g of groups) g.opt.dispose();
  model.trainable = false;

  const windows = heldOutWindows(corpus.heldOut, o.seqLen, o.evalWindows);
  hooks.onPhase?.('eval', `scoring ${windows.length} held-out windows`);
  const heldOut = evaluatePerplexity(model, windowBatches(windows, o.batch));
  const unigram = unigramBaseline(corpus.train, windows, tok.vocabSize);

  return {
    model,
    options: o,
    parameters: model.parameterCount(),
    sources: corpus.sources,
    tokensSeen: o.steps * o.batch * o.seqLen,
    trainSeconds,
    totalSeconds: (performance.now() - t0) / 1000,
    lossCurve: lossCurve(losses),
    heldOut,
    unigram,
    evalWindows: windows.length,
  };
}

/** Mean training loss over each tenth of the run (at least one step each). */
function lossCurve(losses: number[]): { step: number; loss: number }[] {
  const parts = Math.min(10, losses.length);
  const out: { step: number; loss: number }[] = [];
  for (let p = 0; p < parts; p++) {
    const from = Math.floor((p * losses.length) / parts);
    const to = Math.floor(((p + 1) * losses.length) / parts);
    const slice = losses.slice(from, to);
    out.push({ step: to, loss: slice.reduce((a, b) => a + b, 0) / slice.length });
  }
  return out;
}
