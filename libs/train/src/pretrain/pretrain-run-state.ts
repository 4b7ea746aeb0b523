import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, f32Tensor, toFloat32, type Optimizer, type PlainTensor, type StTensor } from '@cola/gl';

/** File names inside a pretraining run directory (next to the checkpoint's config.json and model.safetensors). */
export const RUN_STATE_FILE = 'pretrain-state.json';
export const OPTIMIZER_STATE_FILE = 'optimizer.safetensors';

/** One held-out evaluation during a run: the curve the model card plots. */
export interface CurvePoint {
  /** Optimizer steps of this run so far. */
  step: number;
  /** Training tokens the weights have seen, including those of the checkpoint the run started from. */
  tokensSeen: number;
  /** Held-out NLL, nats per byte. */
  nll: number;
  /** exp(nll), per byte. */
  perplexity: number;
}

/** Everything a resumed run needs besides the weights and the optimizer moments. */
export interface PretrainRunState {
  /** Format version of this file. */
  version: 1;
  /** Steps already taken in this run. */
  step: number;
  /** Tokens the starting checkpoint had seen before this run (0 from scratch). */
  initialTokens: number;
  /** Where the run started from (a checkpoint directory), or null from scratch. */
  initFrom: string | null;
  /** Training seconds spent so far, summed over every resumption. */
  trainSeconds: number;
  /** Per-step training losses so far. */
  losses: number[];
  /** Held-out evaluations so far. */
  curve: CurvePoint[];
  /** The options the run was started with (a resumed run keeps them). */
  options: Record<string, unknown>;
}

/** The optimizer groups of a run, by name (e.g. `decay` and `no_decay`). */
export type OptimizerGroups = ReadonlyMap<string, Optimizer>;

/** Writes the optimizer moments of every group into one safetensors file (step counts in its metadata). */
export async function saveOptimizerState(dir: string, groups: OptimizerGroups): Promise<void> {
  const tensors: Record<string, StTensor> = {};
  const metadata: Record<string, string> = {};
  for (const [group, opt] of groups) {
    metadata[`${group}.step_count`] = String(opt.stepCount);
    for (const [key, p] of Object.entries(opt.exportSlots())) tensors[`${group}/${key}`] = f32Tensor(p.shape, p.values);
  }
  await writeAtomically(join(dir, OPTIMIZER_STATE_FILE), encodeSafetensors(tensors, metadata));
}

/** Restores what {@link saveOptimizerState} wrote into freshly created optimizers of the same groups. */
export async function loadOptimizerState(dir: string, groups: OptimizerGroups): Promise<void> {
  const { tensors, metadata } = decodeSafetensors(await readFile(join(dir, OPTIMIZER_STATE_FILE)));
  for (const [group, opt] of groups) {
    const slots: Record<string, PlainTensor> = {};
    for (const [name, t] of Object.entries(tensors)) {
      if (name.startsWith(`${group}/`)) slots[name.slice(group.length + 1)] = { shape: [...t.shape], values: toFloat32(t) };
    }
    const count = Number(metadata[`${group}.step_count`]);
    if (!Number.isInteger(count) || count < 0) throw new Error(`${OPTIMIZER_STATE_FILE} has no step count for group "${group}"`);
    opt.importSlots(slots, count);
  }
}

/** Writes the run state JSON (atomically: a crash mid-write leaves the previous state). */
export async function saveRunState(dir: string, state: PretrainRunState): Promise<void> {
  await writeAtomically(join(dir, RUN_STATE_FILE), `${JSON.stringify(state)}\n`);
}

/** Reads the run state of `dir`, or null when the directory holds no run yet. */
export async function loadRunState(dir: string): Promise<PretrainRunState | null> {
  let text: string;
  try {
    text = await readFile(join(dir, RUN_STATE_FILE), 'utf8');
  } catch {
    return null;
  }
  const s = JSON.parse(text) as PretrainRunState;
  if (s.version !== 1 || !Number.isInteger(s.step) || !Array.isArray(s.curve) || !Array.isArray(s.losses)) {
    throw new Error(`${join(dir, RUN_STATE_FILE)} is not a pretraining run state of this version`);
  }
  return s;
}

async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
