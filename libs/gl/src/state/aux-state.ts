import type { AuxAdapter } from '../adapters/aux-adapter';
import { validateAuxConfig } from '../adapters/aux-config';
import type { AuxTypeConfig } from '../adapters/aux-type';
import { createAdapter } from '../adapters/create-adapter';
import { decodeSafetensors, encodeSafetensors, f32Tensor, toFloat32, type StTensor } from '../io/safetensors';
import { createOptimizer } from '../optim/create-optimizer';
import type { Optimizer } from '../optim/optimizer';
import { validateOptimizerConfig, type OptimizerConfig } from '../optim/optimizer-config';
import { assertPlainTensor, toPlainTensor, type PlainTensor } from './plain-tensor';

/** The optimizer part of an {@link AuxStateSnapshot}. */
export interface OptimizerSnapshot {
  /** The validated optimizer config. */
  config: OptimizerConfig;
  /** Steps taken so far (AdamW's bias correction depends on it). */
  stepCount: number;
  /** State slots keyed `<param>.<slot>`, e.g. `A.exp_avg`. */
  slots: Record<string, PlainTensor>;
}

/**
 * Everything a stateless worker needs to continue one layer's training: aux weights and optimizer
 * state, as plain data. One snapshot is one version of the aux in the store.
 */
export interface AuxStateSnapshot {
  /** The validated aux config (of any registered type). */
  config: AuxTypeConfig;
  /** Input width of the adapted layer. */
  dIn: number;
  /** Output width of the adapted layer. */
  dOut: number;
  /** Aux parameters keyed by their stable names ('A', 'B', ...). */
  params: Record<string, PlainTensor>;
  /** The optimizer's config, step count and slots. */
  optimizer: OptimizerSnapshot;
  /** Fit steps applied to this aux so far, i.e. its version. */
  step: number;
}

/** Bumped whenever the byte layout changes, so an old blob fails loudly instead of loading wrong. */
export const AUX_STATE_FORMAT = 'cola.aux-state/1';

const PARAM_PREFIX = 'param/';
const SLOT_PREFIX = 'slot/';

function assertCount(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new Error(`aux state: ${what} must be an integer >= 0, got ${String(v)}`);
  return v;
}

/** Copies an adapter and its optimizer out of the backend. `step` defaults to the optimizer's step count. */
export function exportAuxState(adapter: AuxAdapter, optimizer: Optimizer, step: number = optimizer.stepCount): AuxStateSnapshot {
  const params: Record<string, PlainTensor> = {};
  for (const [name, v] of adapter.params) params[name] = toPlainTensor(v);
  return {
    config: adapter.config,
    dIn: adapter.dIn,
    dOut: adapter.dOut,
    params,
    optimizer: { config: optimizer.config, stepCount: optimizer.stepCount, slots: optimizer.exportSlots() },
    step: assertCount('step', step),
  };
}

/** Rebuilds an adapter and its optimizer from a snapshot; both are owned (and disposed) by the caller. */
export function importAuxState(snapshot: AuxStateSnapshot): { adapter: AuxAdapter; optimizer: Optimizer } {
  assertCount('step', snapshot.step);
  const adapter = createAdapter(snapshot.config, snapshot.dIn, snapshot.dOut, { params: snapshot.params });
  try {
    const optimizer = createOptimizer(snapshot.optimizer.config);
    optimizer.importSlots(snapshot.optimizer.slots, assertCount('optimizer.stepCount', snapshot.optimizer.stepCount));
    return { adapter, optimizer };
  } catch (e) {
    adapter.dispose();
    throw e;
  }
}

/**
 * Serialises a snapshot to one safetensors blob: tensors `param/<name>` and `slot/<param>.<slot>`
 * in F32, the configs and counters as JSON strings in `__metadata__`. Bit-exact both ways.
 */
export function encodeAuxState(s: AuxStateSnapshot): Uint8Array {
  const tensors: Record<string, StTensor> = {};
  for (const [name, p] of Object.entries(s.params)) {
    assertPlainTensor(p, `aux state param ${name}`);
    tensors[PARAM_PREFIX + name] = f32Tensor(p.shape, p.values);
  }
  for (const [name, p] of Object.entries(s.optimizer.slots)) {
    assertPlainTensor(p, `aux state slot ${name}`);
    tensors[SLOT_PREFIX + name] = f32Tensor(p.shape, p.values);
  }
  return encodeSafetensors(tensors, {
    format: AUX_STATE_FORMAT,
    aux_config: JSON.stringify(s.config),
    d_in: String(s.dIn),
    d_out: String(s.dOut),
    optimizer_config: JSON.stringify(s.optimizer.config),
    optimizer_step_count: String(assertCount('optimizer.stepCount', s.optimizer.stepCount)),
    step: String(assertCount('step', s.step)),
  });
}

function parseJson(field: string, text: string | undefined): unknown {
  if (text === undefined) throw new Error(`aux state blob has no "${field}" metadata; it was not written by encodeAuxState`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`aux state blob metadata "${field}" is not valid JSON: the blob is corrupt`);
  }
}

/** Parses a blob written by {@link encodeAuxState}; configs are re-validated on the way in. */
export function decodeAuxState(bytes: Uint8Array): AuxStateSnapshot {
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (metadata.format !== AUX_STATE_FORMAT) {
    throw new Error(
      `aux state blob has format ${JSON.stringify(metadata.format)}, expected "${AUX_STATE_FORMAT}"; it was written by another version or is not aux state`,
    );
  }
  const params: Record<string, PlainTensor> = {};
  const slots: Record<string, PlainTensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const plain = { shape: [...t.shape], values: toFloat32(t) };
    if (name.startsWith(PARAM_PREFIX)) params[name.slice(PARAM_PREFIX.length)] = plain;
    else if (name.startsWith(SLOT_PREFIX)) slots[name.slice(SLOT_PREFIX.length)] = plain;
    else throw new Error(`aux state blob has an unexpected tensor "${name}"`);
  }
  return {
    config: validateAuxConfig(parseJson('aux_config', metadata.aux_config)),
    dIn: assertCount('d_in', parseJson('d_in', metadata.d_in)),
    dOut: assertCount('d_out', parseJson('d_out', metadata.d_out)),
    params,
    optimizer: {
      config: validateOptimizerConfig(parseJson('optimizer_config', metadata.optimizer_config)),
      stepCount: assertCount('optimizer_step_count', parseJson('optimizer_step_count', metadata.optimizer_step_count)),
      slots,
    },
    step: assertCount('step', parseJson('step', metadata.step)),
  };
}
