import { clipGradNorm, createOptimizer, LinearSchedule, tf, type Optimizer } from '@cola/gl';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ByteTokenizer, mixSeed } from '@cola/data';
import { decodeSafetensors } from '@cola/gl';
import {
  evaluatePerplexity,
  forward,
  initGptModel,
  lmLoss,
  loadCheckpoint,
  saveCheckpoint,
  WEIGHTS_FILE,
  type GptModel,
  type PerplexityResult,
} from '@cola/model';
import { buildPretrainCorpus, heldOutWindows, windowBatches, WindowSampler, type CorpusSource } from './pretrain-corpus';
import {
  loadOptimizerState,
  loadRunState,
  saveOptimizerState,
  saveRunState,
  type CurvePoint,
  type PretrainRunState,
} from './pretrain-run-state';
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
  /** Called after every held-out evaluation of the curve. */
  onCurve?: (point: CurvePoint) => void;
}

/**
 * Resumable, long runs: a run directory holds the latest checkpoint (config.json, model.safetensors),
 * the optimizer moments and the run state; a run started on a directory that already holds a state
 * continues from it (same options, same schedule) instead of starting over.
 */
export interface PretrainRunControl {
  /** Directory of the run's checkpoints and state; without it nothing is saved during the run. */
  runDir?: string;
  /** Start from this checkpoint's weights instead of a random init (ignored when resuming). */
  initFrom?: string;
  /** Save the checkpoint, optimizer and state every this many steps (and at the end). Default 50. */
  checkpointEvery?: number;
  /** Score the held-out curve every this many steps (and at the start and the end); 0 = never. Default 0. */
  evalEvery?: number;
  /** Held-out windows scored for each curve point (fewer than the final evaluation, to stay cheap). Default 128. */
  curveWindows?: number;
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
  /** Held-out perplexity against tokens seen, when the run scored a curve. */
  curve: CurvePoint[];
  /** Windows scored per curve point. */
  curveWindows: number;
  /** Tokens the starting checkpoint had seen (0 from scratch); included in {@link tokensSeen}. */
  initialTokens: number;
  /** The checkpoint the run started from, or null. */
  initFrom: string | null;
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
export async function pretrain(
  raw: Partial<PretrainOptions> = {},
  hooks: PretrainHooks = {},
  run: PretrainRunControl = {},
): Promise<PretrainResult> {
  const t0 = performance.now();
  const resumed = run.runDir ? await loadRunState(run.runDir) : null;
  // A resumed run keeps its options; only `steps` may change (the linear decay then re-targets the new end).
  const o = resolvePretrainOptions(
    resumed ? { ...(resumed.options as Partial<PretrainOptions>), ...(raw.steps !== undefined ? { steps: raw.steps } : {}) } : raw,
  );
  const checkpointEvery = run.checkpointEvery ?? 50;
  const evalEvery = run.evalEvery ?? 0;
  const curveWindows = run.curveWindows ?? 128;
  const tok = new ByteTokenizer();
  hooks.onPhase?.('corpus', 'tokenizing the corpora');
  const corpus = buildPretrainCorpus(tok, o.heldOutFraction);
  const startStep = resumed?.step ?? 0;
  // A resumed run draws from a stream of its own (derived from the seed and the step), so the
  // windows after a resume are reproducible without storing the generator's position.
  const sampler = new WindowSampler(corpus.train, o.seqLen, startStep === 0 ? o.seed : mixSeed(o.seed, startStep));

  const initFrom = resumed ? resumed.initFrom : (run.initFrom ?? null);
  const from = resumed && run.runDir ? run.runDir : initFrom;
  const model = from
    ? await loadCheckpoint(from, { trainable: true })
    : initGptModel(
        { vocabSize: tok.vocabSize, nPositions: o.seqLen, nEmbd: o.nEmbd, nLayer: o.nLayer, nHead: o.nHead, layerNormEpsilon: 1e-5 },
        { seed: o.seed, trainable: true },
      );
  const c = model.config;
  if (c.nPositions !== o.seqLen || c.nEmbd !== o.nEmbd || c.nLayer !== o.nLayer || c.nHead !== o.nHead) {
    model.dispose();
    throw new Error(
      `the checkpoint ${from} is n_positions ${c.nPositions}, n_embd ${c.nEmbd}, n_layer ${c.nLayer}, n_head ${c.nHead}; ` +
        'pass the same --seq/--n-embd/--n-layer/--n-head',
    );
  }
  const initialTokens = resumed ? resumed.initialTokens : initFrom ? await tokensSeenBy(initFrom) : 0;
  const names = model.names();
  const byVarName = new Map(names.map((n) => [model.weight(n).name, n]));
  const groups: { name: string; params: Map<string, tf.Variable>; opt: Optimizer }[] = [true, false].map((decay) => ({
    name: decay ? 'decay' : 'no_decay',
    params: new Map(names.filter((n) => isDecayed(n) === decay).map((n) => [n, model.weight(n)])),
    opt: createOptimizer({ type: 'adamw', lr: o.lr, betas: [0.9, 0.95], eps: 1e-8, weightDecay: decay ? o.weightDecay : 0 }),
  }));
  const optimizers = new Map(groups.map((g) => [g.name, g.opt]));
  if (resumed && run.runDir) await loadOptimizerState(run.runDir, optimizers);
  const schedule = new LinearSchedule({ peakLr: o.lr, totalSteps: o.steps, warmupFraction: o.warmupFraction });

  const curveWin = heldOutWindows(corpus.heldOut, o.seqLen, curveWindows);
  const losses: number[] = resumed ? [...resumed.losses] : [];
  const curve: CurvePoint[] = resumed ? [...resumed.curve] : [];
  const tokensAt = (step: number): number => initialTokens + step * o.batch * o.seqLen;
  const scoreCurve = (step: number): void => {
    if (evalEvery <= 0 || curve.some((p) => p.step === step)) return;
    const r = evaluatePerplexity(model, windowBatches(curveWin, o.batch));
    const point = { step, tokensSeen: tokensAt(step), nll: r.nll, perplexity: r.perplexity };
    curve.push(point);
    hooks.onCurve?.(point);
  };
  const priorSeconds = resumed?.trainSeconds ?? 0;
  const save = async (step: number, seconds: number): Promise<void> => {
    if (!run.runDir) return;
    await saveCheckpoint(run.runDir, model, {
      metadata: { name: 'cola-tiny', tokenizer: 'byte-level', steps: String(step), tokens_seen: String(tokensAt(step)) },
    });
    await saveOptimizerState(run.runDir, optimizers);
    const state: PretrainRunState = {
      version: 1,
      step,
      initialTokens,
      initFrom,
      trainSeconds: seconds,
      losses,
      curve,
      options: { ...o },
    };
    await saveRunState(run.runDir, state);
  };

  hooks.onPhase?.(
    'train',
    `${model.parameterCount()} parameters, ${corpus.train.length} training tokens` +
      (startStep ? `, resuming at step ${startStep} of ${o.steps}` : initFrom ? `, starting from ${initFrom}` : ''),
  );
  scoreCurve(startStep);
  const tTrain = performance.now();
  for (let step = startStep; step < o.steps; step++) {
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
    hooks.onStep?.({ step: step + 1, loss, lr, tokensPerSecond: ((step + 1 - startStep) * o.batch * o.seqLen) / seconds });
    if (evalEvery > 0 && (step + 1) % evalEvery === 0) scoreCurve(step + 1);
    if ((step + 1) % checkpointEvery === 0) await save(step + 1, priorSeconds + seconds);
    // Yield to the event loop once per step: progress bars (and signals) are driven by timers.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const trainSeconds = priorSeconds + (performance.now() - tTrain) / 1000;
  scoreCurve(o.steps);
  await save(o.steps, trainSeconds);
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
    tokensSeen: tokensAt(o.steps),
    trainSeconds,
    totalSeconds: (performance.now() - t0) / 1000,
    lossCurve: lossCurve(losses),
    heldOut,
    unigram,
    evalWindows: windows.length,
    curve,
    curveWindows: curveWin.length,
    initialTokens,
    initFrom,
  };
}

/** Tokens a checkpoint had seen, from its safetensors metadata (`tokens_seen`), or 0 when unknown. */
async function tokensSeenBy(dir: string): Promise<number> {
  const { metadata } = decodeSafetensors(await readFile(join(dir, WEIGHTS_FILE)));
  const n = Number(metadata.tokens_seen);
  return Number.isFinite(n) && n > 0 ? n : 0;
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
