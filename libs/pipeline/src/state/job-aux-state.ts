import { AdapterSet, exportAuxState, importAuxState, LinearSchedule, type AdaptedLayer, type PlainTensor } from '@cola/gl';
import { AuxState, decodeMessage, encodeMessage, float32ToTensor, tensorToFloat32, type NamedTensor } from '@cola/proto';
import { auxConfigFromWire, auxConfigToWire, optimizerConfigFromWire, optimizerConfigToWire } from './config-wire';

/** What a job's aux state carries besides the adapters. */
export interface JobAuxMeta {
  jobId: string;
  /** 0 for the initial state; +1 per applied fit task. */
  version: number;
  /** The fit-step learning-rate schedule, fixed at job start. */
  schedule: { peakLr: number; totalSteps: number; warmupSteps: number };
  /** Per-layer gradient-norm clipping; undefined = off. */
  clipNorm?: number;
}

/** A decoded job aux state: live adapters and optimizers plus the meta. The caller disposes `adapters`. */
export interface JobAuxState extends JobAuxMeta {
  adapters: AdapterSet;
}

function named(record: Record<string, PlainTensor>): NamedTensor[] {
  return Object.entries(record).map(([name, t]) => ({ name, tensor: float32ToTensor(t.shape, t.values) }));
}

function plain(list: readonly NamedTensor[], what: string): Record<string, PlainTensor> {
  const out: Record<string, PlainTensor> = {};
  for (const { name, tensor } of list) {
    if (name in out) throw new Error(`${what}: "${name}" appears twice`);
    out[name] = { shape: [...(tensor?.shape ?? [])], values: tensorToFloat32(tensor, `${what} "${name}"`) };
  }
  return out;
}

/** The schedule of a job's fit steps as a gl schedule. */
export function scheduleOf(meta: Pick<JobAuxMeta, 'schedule'>): LinearSchedule {
  return new LinearSchedule({ peakLr: meta.schedule.peakLr, totalSteps: meta.schedule.totalSteps, warmupSteps: meta.schedule.warmupSteps });
}

/**
 * Encodes a job's adapters, optimizers and meta as one cola.v1 AuxState (the blob the store keeps
 * per version). Weights and slots are fp32, bit-exact.
 */
export function encodeJobAuxState(adapters: AdapterSet, meta: JobAuxMeta): Uint8Array {
  const layers = [...adapters.layers].map(([tap, { adapter, optimizer }]) => {
    const snap = exportAuxState(adapter, optimizer);
    return {
      tap,
      dIn: snap.dIn,
      dOut: snap.dOut,
      params: named(snap.params),
      optimizerSlots: named(snap.optimizer.slots),
      optimizerStep: snap.optimizer.stepCount,
      config: auxConfigToWire(snap.config),
    };
  });
  const first = adapters.layers.values().next().value as AdaptedLayer | undefined;
  if (!first) throw new Error('encodeJobAuxState: the adapter set is empty');
  return encodeMessage(AuxState, {
    jobId: meta.jobId,
    version: meta.version,
    step: first.optimizer.stepCount,
    optimizer: optimizerConfigToWire(first.optimizer.config),
    layers,
    schedule: meta.schedule,
    clipNorm: meta.clipNorm ?? 0,
  });
}

/** Decodes the meta only (cheap: no tensors are created). */
export function decodeJobAuxMeta(bytes: Uint8Array): JobAuxMeta & { state: AuxState } {
  const state = decodeMessage(AuxState, 'AuxState', bytes);
  if (!state.schedule) throw new Error(`aux state of job ${state.jobId} v${state.version} has no schedule`);
  return {
    state,
    jobId: state.jobId,
    version: state.version,
    schedule: state.schedule,
    clipNorm: state.clipNorm > 0 ? state.clipNorm : undefined,
  };
}

/**
 * Rebuilds live adapters (and, unless `paramsOnly`, their optimizers) from an AuxState blob.
 * The gpu-host passes `paramsOnly`: it needs the weights to run forward, never the optimizer
 * state, which is exactly what ColA keeps off the host.
 */
export function decodeJobAuxState(bytes: Uint8Array, opts: { paramsOnly?: boolean } = {}): JobAuxState {
  const { state, ...meta } = decodeJobAuxMeta(bytes);
  const optimizerConfig = optimizerConfigFromWire(state.optimizer);
  const layers = new Map<string, AdaptedLayer>();
  try {
    for (const l of state.layers) {
      const what = `aux state of job ${state.jobId} v${state.version}, layer ${l.tap}`;
      const { adapter, optimizer } = importAuxState({
        config: auxConfigFromWire(l.config),
        dIn: l.dIn,
        dOut: l.dOut,
        params: plain(l.params, what),
        optimizer: { config: optimizerConfig, stepCount: l.optimizerStep, slots: opts.paramsOnly ? {} : plain(l.optimizerSlots, what) },
        step: l.optimizerStep,
      });
      layers.set(l.tap, { adapter, optimizer });
    }
  } catch (e) {
    AdapterSet.of(layers).dispose();
    throw e;
  }
  return { ...meta, adapters: AdapterSet.of(layers) };
}
