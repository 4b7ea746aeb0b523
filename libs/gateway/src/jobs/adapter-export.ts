import { encodeSafetensors, f32Tensor, type StTensor } from '@cola/gl';
import { SCORE_TAP } from '@cola/model';
import { auxConfigFromWire, decodeJobAuxMeta, type ValidatedJobSpec } from '@cola/pipeline';
import { tensorToFloat32 } from '@cola/proto';

/** Prefix of PEFT LoRA tensor names on a GPT-2 model (`PeftModel` wraps `GPT2*`'s `transformer`). */
const PEFT_PREFIX = 'base_model.model.';
/** Prefix of aux tensors that have no PEFT equivalent (linear and mlp aux). */
export const COLA_AUX_PREFIX = 'cola_aux.';

/** The module path of a tap in a Hugging Face GPT-2 model: blocks live under `transformer`. */
function modulePath(tap: string): string {
  return tap === SCORE_TAP ? SCORE_TAP : `transformer.${tap}`;
}

/** Row-major transpose of a [rows, cols] matrix. */
function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = values[i * cols + j]!;
  return out;
}

/** One adapted layer in the exported config. */
export interface ExportedLayer {
  tap: string;
  type: 'lowrank' | 'linear' | 'mlp';
  d_in: number;
  d_out: number;
  config: Record<string, unknown>;
  /** Names of this layer's tensors in the safetensors file. */
  tensors: string[];
}

/** `adapter_config.json`: PEFT's fields for the LoRA part, ours under `cola`. */
export interface AdapterConfig {
  peft_type: 'LORA' | null;
  task_type: 'SEQ_CLS' | 'CAUSAL_LM';
  base_model_name_or_path: string;
  r: number | null;
  lora_alpha: number | null;
  lora_dropout: number | null;
  target_modules: string[];
  fan_in_fan_out: boolean;
  bias: 'none';
  inference_mode: boolean;
  init_lora_weights: boolean;
  modules_to_save: null;
  revision: null;
  cola: {
    job_id: string;
    aux_version: number;
    labels: string[] | null;
    layers: ExportedLayer[];
    notes: string[];
  };
}

/** The downloadable adapter of a job at one aux version. */
export interface ExportedAdapter {
  /** safetensors bytes. */
  weights: Uint8Array;
  config: AdapterConfig;
}

/**
 * Exports a job's aux state (a cola.v1 AuxState blob: the store's head or a checkpoint) as an
 * adapter a PEFT user recognises. Reads the fp32 params straight from the message: no TensorFlow
 * backend is needed in the gateway.
 *
 * - lowrank → LoRA: our a = s·X·A·B with A [in, r] and B [r, out]; PEFT's lora_A.weight is
 *   [r, in] and lora_B.weight [out, r] (nn.Linear layout), so both are transposed, and
 *   lora_alpha = s·r. GPT-2's attention and MLP projections are Conv1D, hence fan_in_fan_out.
 * - linear and mlp aux (and the classifier head's linear aux) have no PEFT form: they are stored
 *   as `cola_aux.<module>.<param>` in our own layout, described in `cola.layers` and `cola.notes`.
 */
export function exportAdapter(auxState: Uint8Array, job: ValidatedJobSpec): ExportedAdapter {
  const { state, version } = decodeJobAuxMeta(auxState);
  const tensors: Record<string, StTensor> = {};
  const layers: ExportedLayer[] = [];
  const loraRanks = new Set<number>();
  const loraScales = new Set<number>();
  const loraDropouts = new Set<number>();
  const loraTargets = new Set<string>();
  for (const l of state.layers) {
    const cfg = auxConfigFromWire(l.config);
    const params = new Map(
      l.params.map((p) => [p.name, { shape: p.tensor?.shape ?? [], values: tensorToFloat32(p.tensor, `${l.tap}.${p.name}`) }]),
    );
    const names: string[] = [];
    const put = (name: string, shape: number[], values: Float32Array): void => {
      tensors[name] = f32Tensor(shape, values);
      names.push(name);
    };
    if (cfg.type === 'lowrank' && l.tap !== SCORE_TAP) {
      const a = params.get('A')!;
      const b = params.get('B')!;
      const base = `${PEFT_PREFIX}${modulePath(l.tap)}`;
      put(`${base}.lora_A.weight`, [cfg.rank, l.dIn], transpose(a.values, l.dIn, cfg.rank));
      put(`${base}.lora_B.weight`, [l.dOut, cfg.rank], transpose(b.values, cfg.rank, l.dOut));
      loraRanks.add(cfg.rank);
      loraScales.add(cfg.scale);
      loraDropouts.add(cfg.dropout);
      loraTargets.add(l.tap.split('.').at(-1)!);
    } else {
      for (const [name, p] of params) put(`${COLA_AUX_PREFIX}${modulePath(l.tap)}.${name}`, p.shape, p.values);
    }
    layers.push({ tap: l.tap, type: cfg.type, d_in: l.dIn, d_out: l.dOut, config: { ...cfg }, tensors: names });
  }
  // PEFT has one r and alpha per adapter (rank_pattern aside): report them when the layers agree.
  const single = <T>(s: Set<T>): T | null => (s.size === 1 ? [...s][0]! : null);
  const r = single(loraRanks);
  const scale = single(loraScales);
  const notes = [
    'Tensors named base_model.model.*.lora_A.weight / lora_B.weight are PEFT LoRA weights (nn.Linear layout, [r, in] and [out, r]); lora_alpha = scale * r.',
    'Tensors named cola_aux.<module>.<param> are ColA aux models without a PEFT form, in ColA layout: linear a = X V (+ b) with V [d_in, d_out]; mlp a = W_n(act(...act(X W0 + b0)...)) + b_n with W_i [in, out]. Add a to the output of <module>.',
  ];
  if (job.task === 'classification') {
    notes.push(
      `The classifier head "score" starts from the base checkpoint's head when it has ${job.spec.labels.length} labels, else from a seeded initialisation (seed ${job.options.seed}); its aux delta is cola_aux.score.*.`,
    );
  }
  const weights = encodeSafetensors(tensors, {
    format: 'pt',
    cola_job_id: job.spec.jobId,
    cola_aux_version: String(version),
    base_model: job.spec.baseModel,
  });
  return {
    weights,
    config: {
      peft_type: loraRanks.size > 0 ? 'LORA' : null,
      task_type: job.task === 'classification' ? 'SEQ_CLS' : 'CAUSAL_LM',
      base_model_name_or_path: job.spec.baseModel,
      r,
      lora_alpha: r !== null && scale !== null ? scale * r : null,
      lora_dropout: single(loraDropouts),
      target_modules: [...loraTargets].sort(),
      fan_in_fan_out: true,
      bias: 'none',
      inference_mode: true,
      init_lora_weights: true,
      modules_to_save: null,
      revision: null,
      cola: {
        job_id: state.jobId,
        aux_version: version,
        labels: job.task === 'classification' ? [...job.spec.labels] : null,
        layers,
        notes,
      },
    },
  };
}
