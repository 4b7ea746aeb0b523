import { defineConfig, ENV, mergerConfig, int, optional, str, type EnvValues } from '@cola/config';

/**
 * Variables only the merger reads, on top of `mergerConfig` of @cola/config (REDIS_URL,
 * LOG_LEVEL, METRICS_PORT, MERGER_GRPC_PORT, MODEL_DIR).
 */
export const MERGER_ENV = {
  /** Base checkpoint directory; wins over MODEL_DIR when set (the same variable as the gpu-host's). */
  COLA_BASE_MODEL_DIR: 'COLA_BASE_MODEL_DIR',
  /** Fine-tuned models the merger keeps loaded at once. */
  COLA_MERGER_MAX_MODELS: 'COLA_MERGER_MAX_MODELS',
} as const;

/** The merger's validated environment; the embedded default needs none of it set. */
export const mergerEnv = defineConfig({
  ...mergerConfig.spec,
  [MERGER_ENV.COLA_BASE_MODEL_DIR]: optional(
    str({ doc: 'base checkpoint directory (config.json + model.safetensors); overrides MODEL_DIR' }),
  ),
  [MERGER_ENV.COLA_MERGER_MAX_MODELS]: int({ default: 16, min: 1, max: 4096, doc: 'fine-tuned models kept loaded' }),
  [ENV.COLA_METRICS_TENANTS]: optional(str({ doc: 'comma-separated tenant ids allowed as metric labels (others: other)' })),
});

/** The loaded merger environment. */
export type MergerEnv = EnvValues<typeof mergerEnv.spec>;

/** The base checkpoint directory: COLA_BASE_MODEL_DIR, else MODEL_DIR (default models/cola-tiny). */
export function mergerModelDirOf(env: MergerEnv): string {
  return env.COLA_BASE_MODEL_DIR ?? env.MODEL_DIR;
}
