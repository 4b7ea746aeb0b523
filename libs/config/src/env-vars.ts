import { defineConfig, int, oneOf, optional, port, str, url } from './env';
import { PORTS } from './ports';
import { AUX_RETENTION, TTLS, LIMITS } from './ttls';
import { ENV_METRICS_TENANTS } from './metric-names';

/**
 * Names of every environment variable any of our processes reads. Manifests and docs use these
 * names; a test checks that they agree with the service specs below.
 */
export const ENV = {
  /** Redis connection URL (redis:// or rediss://, optional /db). Read by every service and by tests. */
  REDIS_URL: 'REDIS_URL',
  /** Log verbosity. */
  LOG_LEVEL: 'LOG_LEVEL',
  /** gateway HTTP port. */
  GATEWAY_PORT: 'GATEWAY_PORT',
  /** host:port the gateway dials for the merger's gRPC service. */
  MERGER_ADDRESS: 'MERGER_ADDRESS',
  /** merger gRPC listen port. */
  MERGER_GRPC_PORT: 'MERGER_GRPC_PORT',
  /** /metrics port of the gpu-host, aux-trainer or merger (each has its own default). */
  METRICS_PORT: 'METRICS_PORT',
  /** Directory of the base checkpoint (config.json + model.safetensors). */
  MODEL_DIR: 'MODEL_DIR',
  /** Forces a tfjs backend (read by @cola/gl's initBackend, which validates it). */
  COLA_BACKEND: 'COLA_BACKEND',
  /** Fit tasks one aux-trainer process runs at once. */
  AUX_TRAINER_CONCURRENCY: 'AUX_TRAINER_CONCURRENCY',
  /** TTL of adaptation payloads in seconds. */
  PAYLOAD_TTL_SECONDS: 'PAYLOAD_TTL_SECONDS',
  /** Largest accepted upload in bytes. */
  UPLOAD_MAX_BYTES: 'UPLOAD_MAX_BYTES',
  /** Test harness only: where test Redis comes from: auto, testcontainers or redis-server. */
  COLA_TEST_REDIS: 'COLA_TEST_REDIS',
  /** gateway: the admin key (creates tenants, issues and revokes API keys); unset disables the admin routes. Keep it in a Secret. */
  GATEWAY_ADMIN_KEY: 'GATEWAY_ADMIN_KEY',
  /** gateway: comma-separated base model names tenants may fine-tune and query (the gpu-host's and merger's checkpoint). */
  GATEWAY_BASE_MODELS: 'GATEWAY_BASE_MODELS',
  /** gateway: requests one tenant may make per rate-limit window, across all gateway replicas. */
  GATEWAY_RATE_LIMIT: 'GATEWAY_RATE_LIMIT',
  /** gateway: length of the fixed rate-limit window in seconds. */
  GATEWAY_RATE_WINDOW_SECONDS: 'GATEWAY_RATE_WINDOW_SECONDS',
  /** gateway: largest JSON request body in bytes (uploads have UPLOAD_MAX_BYTES). */
  GATEWAY_BODY_MAX_BYTES: 'GATEWAY_BODY_MAX_BYTES',
  /** gateway: deadline of one inference call to the merger in milliseconds. */
  GATEWAY_INFERENCE_TIMEOUT_MS: 'GATEWAY_INFERENCE_TIMEOUT_MS',
  /** Every service: comma-separated tenant ids allowed as `tenant` metric labels; all others are labelled `other` (issue 6). */
  COLA_METRICS_TENANTS: ENV_METRICS_TENANTS,
  /** `cola` CLI and `npm run demo`: base URL of the gateway, e.g. http://127.0.0.1:3000. */
  COLA_API_URL: 'COLA_API_URL',
  /** `cola` CLI: the tenant API key sent as `Authorization: Bearer <key>`. */
  COLA_API_KEY: 'COLA_API_KEY',
  /** `npm start`: 0 starts the local stack without the demo (what `cola up` does). */
  COLA_DEMO: 'COLA_DEMO',
  /** `npm start`: keep Redis' append-only file in this dir across whole-stack restarts (default: a temp dir removed on stop). */
  COLA_REDIS_DIR: 'COLA_REDIS_DIR',
  /** aux-trainer: newest aux versions of a running job kept without a TTL (older ones expire; a finished job keeps its head). */
  COLA_AUX_KEEP_VERSIONS: 'COLA_AUX_KEEP_VERSIONS',
} as const;

/** The default Redis URL: the embedded default needs no configuration at all. */
export const DEFAULT_REDIS_URL = `redis://127.0.0.1:${PORTS.redis}`;

/** Log levels, most verbose first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Variables every service reads. */
export const commonEnvSpec = {
  [ENV.REDIS_URL]: url({ protocols: ['redis:', 'rediss:'], default: DEFAULT_REDIS_URL, doc: 'Redis connection URL' }),
  [ENV.LOG_LEVEL]: oneOf(LOG_LEVELS, { default: 'info', doc: 'log verbosity' }),
} as const;

/** gateway. */
export const gatewayConfig = defineConfig({
  ...commonEnvSpec,
  [ENV.GATEWAY_PORT]: port({ default: PORTS.gatewayHttp, allowZero: true, doc: 'HTTP listen port' }),
  [ENV.MERGER_ADDRESS]: str({ default: `127.0.0.1:${PORTS.mergerGrpc}`, doc: 'merger gRPC address host:port' }),
  [ENV.UPLOAD_MAX_BYTES]: int({ default: LIMITS.uploadMaxBytes, min: 1, doc: 'largest accepted upload in bytes' }),
  [ENV.GATEWAY_ADMIN_KEY]: optional(str({ doc: 'admin key (16+ characters); unset disables the admin routes' })),
  [ENV.GATEWAY_BASE_MODELS]: str({ default: 'cola-tiny', doc: 'comma-separated base model names tenants may use' }),
  [ENV.GATEWAY_RATE_LIMIT]: int({ default: 600, min: 1, doc: 'requests per tenant per rate-limit window' }),
  [ENV.GATEWAY_RATE_WINDOW_SECONDS]: int({ default: 60, min: 1, max: 86_400, doc: 'rate-limit window in seconds' }),
  [ENV.GATEWAY_BODY_MAX_BYTES]: int({ default: 1024 * 1024, min: 1024, doc: 'largest JSON request body in bytes' }),
  [ENV.GATEWAY_INFERENCE_TIMEOUT_MS]: int({ default: 30_000, min: 100, doc: 'deadline of one merger inference call in ms' }),
});

/** gpu-host. */
export const gpuHostConfig = defineConfig({
  ...commonEnvSpec,
  [ENV.METRICS_PORT]: port({ default: PORTS.metrics.gpuHost, allowZero: true, doc: '/metrics port' }),
  [ENV.MODEL_DIR]: str({ default: 'models/cola-tiny', doc: 'base checkpoint directory' }),
  [ENV.PAYLOAD_TTL_SECONDS]: int({ default: TTLS.payloadSeconds, min: 1, doc: 'adaptation payload TTL in seconds' }),
});

/** aux-trainer. */
export const auxTrainerConfig = defineConfig({
  ...commonEnvSpec,
  [ENV.METRICS_PORT]: port({ default: PORTS.metrics.auxTrainer, allowZero: true, doc: '/metrics port' }),
  [ENV.AUX_TRAINER_CONCURRENCY]: int({ default: 1, min: 1, max: 64, doc: 'fit tasks run at once per process' }),
  [ENV.COLA_AUX_KEEP_VERSIONS]: int({
    default: AUX_RETENTION.keepVersions,
    min: 1,
    max: 1000,
    doc: 'newest aux versions of a running job kept without a TTL',
  }),
});

/** merger. */
export const mergerConfig = defineConfig({
  ...commonEnvSpec,
  [ENV.METRICS_PORT]: port({ default: PORTS.metrics.merger, allowZero: true, doc: '/metrics port' }),
  [ENV.MERGER_GRPC_PORT]: port({ default: PORTS.mergerGrpc, allowZero: true, doc: 'gRPC listen port' }),
  [ENV.MODEL_DIR]: str({ default: 'models/cola-tiny', doc: 'base checkpoint directory' }),
});

/** Where test Redis comes from (see @cola/testing). */
export const TEST_REDIS_SOURCES = ['auto', 'testcontainers', 'redis-server'] as const;

/** Test harness (@cola/testing). An unset REDIS_URL means: start a Redis of our own. */
export const testHarnessConfig = defineConfig({
  [ENV.REDIS_URL]: optional(url({ protocols: ['redis:', 'rediss:'], doc: 'use this Redis instead of starting one' })),
  [ENV.COLA_TEST_REDIS]: oneOf(TEST_REDIS_SOURCES, {
    default: 'auto',
    doc: 'auto = Testcontainers when a Docker engine answers, else a local redis-server',
  }),
});
