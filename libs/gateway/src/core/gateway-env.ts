import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayConfig, baseModelDirOf, type EnvValues } from '@cola/config';
import type { GatewayOptions } from './gateway-options';

/** The gateway's validated environment (libs/config `gatewayConfig`). */
export type GatewayEnv = EnvValues<typeof gatewayConfig.spec>;

/**
 * Gateway options from the environment: the config namespace of the gateway, validated at once
 * by `gatewayConfig.load` (every bad variable is reported with its fix). Returns the HTTP port
 * separately: it belongs to the process, not to the app.
 */
export function gatewayOptionsFromEnv(source: Record<string, string | undefined> = process.env): { port: number; options: GatewayOptions } {
  const env: GatewayEnv = gatewayConfig.load(source);
  return {
    port: env.GATEWAY_PORT,
    options: {
      redisUrl: env.REDIS_URL,
      mergerAddress: env.MERGER_ADDRESS,
      adminKey: env.GATEWAY_ADMIN_KEY,
      baseModelLayers: layersOf(baseModelDirOf(env)),
      baseModels: env.GATEWAY_BASE_MODELS.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      uploadMaxBytes: env.UPLOAD_MAX_BYTES,
      bodyMaxBytes: env.GATEWAY_BODY_MAX_BYTES,
      rateLimit: { limit: env.GATEWAY_RATE_LIMIT, windowSeconds: env.GATEWAY_RATE_WINDOW_SECONDS },
      inferenceTimeoutMs: env.GATEWAY_INFERENCE_TIMEOUT_MS,
      logLevel: env.LOG_LEVEL,
    },
  };
}

/**
 * `n_layer` of the checkpoint's config.json, or null when it cannot be read (a gateway deployed
 * without the model files): then the gpu-host checks target layers when the job starts.
 */
function layersOf(modelDir: string): number | null {
  try {
    const n = (JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as { n_layer?: unknown }).n_layer;
    return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
