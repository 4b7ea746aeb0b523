import { defineConfig, ENV, gpuHostConfig, int, optional, str, type EnvValues } from '@cola/config';
import { HOST_MEMORY_BUDGET_MB } from './host-memory-budget';

/**
 * Variables only the gpu-host reads, on top of `gpuHostConfig` of @cola/config (REDIS_URL,
 * LOG_LEVEL, METRICS_PORT, MODEL_DIR, PAYLOAD_TTL_SECONDS).
 */
export const GPU_HOST_ENV = {
  /** Base checkpoint directory; wins over MODEL_DIR when set (the name the issue uses). */
  COLA_BASE_MODEL_DIR: 'COLA_BASE_MODEL_DIR',
  /** Fine-tuning jobs trained at once by one gpu-host. */
  COLA_MAX_ACTIVE_JOBS: 'COLA_MAX_ACTIVE_JOBS',
  /** Most tenants packed into one mixed batch (1 = no mixing). */
  COLA_MAX_TENANTS_PER_BATCH: 'COLA_MAX_TENANTS_PER_BATCH',
} as const;

/** The gpu-host's validated environment; the embedded default needs none of it set. */
export const gpuHostEnv = defineConfig({
  ...gpuHostConfig.spec,
  [GPU_HOST_ENV.COLA_BASE_MODEL_DIR]: optional(
    str({ doc: 'base checkpoint directory (config.json + model.safetensors); overrides MODEL_DIR' }),
  ),
  [GPU_HOST_ENV.COLA_MAX_ACTIVE_JOBS]: int({ default: 4, min: 1, max: 1024, doc: 'fine-tuning jobs trained at once' }),
  [GPU_HOST_ENV.COLA_MAX_TENANTS_PER_BATCH]: int({ default: 4, min: 1, max: 1024, doc: 'most tenants in one mixed batch (1 = no mixing)' }),
  [ENV.COLA_HOST_MEMORY_BUDGET_MB]: int({
    default: HOST_MEMORY_BUDGET_MB.default,
    min: HOST_MEMORY_BUDGET_MB.min,
    max: HOST_MEMORY_BUDGET_MB.max,
    doc: 'MiB of tensor memory for host steps and buffered jobs (steps run in row chunks that fit; jobs that do not fit wait queued)',
  }),
  [ENV.COLA_METRICS_TENANTS]: optional(str({ doc: 'comma-separated tenant ids allowed as metric labels (others: other)' })),
});

/** The loaded gpu-host environment. */
export type GpuHostEnv = EnvValues<typeof gpuHostEnv.spec>;

/** The base checkpoint directory: COLA_BASE_MODEL_DIR, else MODEL_DIR (default models/cola-tiny). */
export function baseModelDirOf(env: GpuHostEnv): string {
  return env.COLA_BASE_MODEL_DIR ?? env.MODEL_DIR;
}
