import { defineConfig, int, oneOf, optional, port, str, url, type EnvSpec } from './env';
import { PORTS } from './ports';
import { AUX_RETENTION, QUEUE_RETENTION, TTLS, LIMITS } from './ttls';
import { ENV_METRICS_TENANTS } from './metric-names';

/**
 * The one home of every environment variable our processes read: one validated spec per service
 * (each process loads its own at start), plus the few read by a library, the CLI, `npm start` or
 * the test harness. `ENV` below is derived from these specs, so adding a variable is one line in
 * the spec of the service that reads it: name, type, default and doc. The manifest checks
 * (test/deploy) and docs/configuration.md read the same specs.
 */

/** The default Redis URL: the embedded default needs no configuration at all. */
export const DEFAULT_REDIS_URL = `redis://127.0.0.1:${PORTS.redis}`;

/** Log levels, most verbose first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** The base checkpoint every service that loads the model starts from when nothing is set. */
const DEFAULT_MODEL_DIR = 'models/cola-tiny';

/** Variables every service reads. */
export const commonEnvSpec = {
  REDIS_URL: url({ protocols: ['redis:', 'rediss:'], default: DEFAULT_REDIS_URL, doc: 'Redis connection URL' }),
  LOG_LEVEL: oneOf(LOG_LEVELS, { default: 'info', doc: 'log verbosity' }),
} as const;

/** Variables every worker service (gpu-host, aux-trainer, merger) reads on top of the common ones. */
const workerEnvSpec = {
  ...commonEnvSpec,
  [ENV_METRICS_TENANTS]: optional(str({ doc: 'comma-separated tenant ids allowed as metric labels (others: other)' })),
} as const;

/** The base model, for the services that load it (gpu-host and merger). */
const modelEnvSpec = {
  MODEL_DIR: str({ default: DEFAULT_MODEL_DIR, doc: 'base checkpoint directory (config.json + model.safetensors)' }),
  COLA_BASE_MODEL_DIR: optional(str({ doc: 'base checkpoint directory; overrides MODEL_DIR when set' })),
} as const;

/** gateway. */
export const gatewayConfig = defineConfig({
  ...commonEnvSpec,
  GATEWAY_PORT: port({ default: PORTS.gatewayHttp, allowZero: true, doc: 'HTTP listen port' }),
  MERGER_ADDRESS: str({ default: `127.0.0.1:${PORTS.mergerGrpc}`, doc: 'merger gRPC address host:port' }),
  UPLOAD_MAX_BYTES: int({ default: LIMITS.uploadMaxBytes, min: 1, doc: 'largest accepted upload in bytes' }),
  GATEWAY_ADMIN_KEY: optional(str({ doc: 'admin key (16+ characters); unset disables the admin routes. Keep it in a Secret' })),
  GATEWAY_BASE_MODELS: str({ default: 'cola-tiny', doc: 'comma-separated base model names tenants may fine-tune and query' }),
  GATEWAY_RATE_LIMIT: int({ default: 600, min: 1, doc: 'requests per tenant per rate-limit window, across all replicas' }),
  GATEWAY_RATE_WINDOW_SECONDS: int({ default: 60, min: 1, max: 86_400, doc: 'rate-limit window in seconds' }),
  GATEWAY_BODY_MAX_BYTES: int({ default: 1024 * 1024, min: 1024, doc: 'largest JSON request body in bytes' }),
  GATEWAY_INFERENCE_TIMEOUT_MS: int({ default: 30_000, min: 100, doc: 'deadline of one merger inference call in ms' }),
  // The gateway reads only the checkpoint's config.json: its layer count checks target_modules at create time.
  ...modelEnvSpec,
});

/**
 * Limits of the gpu-host's memory budget in MiB. The wasm32 heap ends at 4 GiB and never
 * shrinks; the budget counts live tensors only, so the ceiling leaves a quarter of the heap for
 * fragmentation, kernels' scratch and the runtime.
 */
export const HOST_MEMORY_BUDGET_MB = { default: 1536, min: 64, max: 3072 } as const;

/**
 * Limits of the gpu-host's lock on each job it trains, in ms. The host holds a job's `jobs` entry
 * for the whole run and renews the lock from its event loop, which a host step blocks: on a loaded
 * machine a step of a default batch has blocked it for more than BullMQ's 30 s, the lock lapsed and
 * the job was delivered again while it ran. The default outlasts such a step; the price is that a
 * host killed without a chance to hand its jobs back (SIGKILL, OOM) leaves them for this long.
 */
export const HOST_JOB_LOCK_MS = { default: 120_000, min: 5_000, max: 3_600_000 } as const;

/** gpu-host. */
export const gpuHostConfig = defineConfig({
  ...workerEnvSpec,
  ...modelEnvSpec,
  METRICS_PORT: port({ default: PORTS.metrics.gpuHost, allowZero: true, doc: '/metrics port' }),
  PAYLOAD_TTL_SECONDS: int({ default: TTLS.payloadSeconds, min: 1, doc: 'adaptation payload TTL in seconds' }),
  COLA_QUEUE_RETENTION_SECONDS: int({
    default: QUEUE_RETENTION.completedSeconds,
    min: 1,
    max: 30 * 24 * 3600,
    doc: 'seconds completed queue records (fit tasks, announcements, finished jobs) and queue events are kept before the gpu-host sweeps them',
  }),
  COLA_MAX_ACTIVE_JOBS: int({ default: 4, min: 1, max: 1024, doc: 'fine-tuning jobs trained at once' }),
  COLA_MAX_TENANTS_PER_BATCH: int({ default: 4, min: 1, max: 1024, doc: 'most tenants in one mixed batch (1 = no mixing)' }),
  COLA_HOST_MEMORY_BUDGET_MB: int({
    default: HOST_MEMORY_BUDGET_MB.default,
    min: HOST_MEMORY_BUDGET_MB.min,
    max: HOST_MEMORY_BUDGET_MB.max,
    doc: 'MiB of tensor memory for host steps and buffered jobs (steps run in row chunks that fit; jobs that do not fit wait queued)',
  }),
  COLA_HOST_JOB_LOCK_MS: int({
    default: HOST_JOB_LOCK_MS.default,
    min: HOST_JOB_LOCK_MS.min,
    max: HOST_JOB_LOCK_MS.max,
    doc: "lock of a job the gpu-host trains, in ms: longer than its longest host step (which blocks lock renewal); a killed host's jobs resume elsewhere after it",
  }),
});

/** aux-trainer. */
export const auxTrainerConfig = defineConfig({
  ...workerEnvSpec,
  METRICS_PORT: port({ default: PORTS.metrics.auxTrainer, allowZero: true, doc: '/metrics port' }),
  AUX_TRAINER_CONCURRENCY: int({ default: 1, min: 1, max: 64, doc: 'fit tasks run at once per process' }),
  COLA_AUX_CACHE_JOBS: int({ default: 16, min: 0, max: 4096, doc: 'jobs whose aux state stays cached between fit tasks (0 = off)' }),
  COLA_AUX_LOCK_MS: int({
    default: 30_000,
    min: 1000,
    max: 600_000,
    doc: 'lock of a running fit task in ms (a dead trainer is taken over after it)',
  }),
  COLA_AUX_KEEP_VERSIONS: int({
    default: AUX_RETENTION.keepVersions,
    min: 1,
    max: 1000,
    doc: 'newest aux versions of a running job kept without a TTL (older ones expire; a finished job keeps only its head)',
  }),
});

/** merger. */
export const mergerConfig = defineConfig({
  ...workerEnvSpec,
  ...modelEnvSpec,
  METRICS_PORT: port({ default: PORTS.metrics.merger, allowZero: true, doc: '/metrics port' }),
  MERGER_GRPC_PORT: port({ default: PORTS.mergerGrpc, allowZero: true, doc: 'gRPC listen port' }),
  MERGER_GRPC_HOST: str({
    default: '0.0.0.0',
    doc: 'gRPC listen address: every interface in a container; `npm start` binds 127.0.0.1 (loopback only)',
  }),
  COLA_MERGER_MAX_MODELS: int({ default: 16, min: 1, max: 4096, doc: 'fine-tuned models kept loaded' }),
});

/** The services and their configs, for the manifest checks and the docs. */
export const SERVICE_CONFIGS = {
  gateway: gatewayConfig,
  'gpu-host': gpuHostConfig,
  'aux-trainer': auxTrainerConfig,
  merger: mergerConfig,
} as const;

/** Where test Redis comes from (see @cola/testing). */
export const TEST_REDIS_SOURCES = ['auto', 'testcontainers', 'redis-server'] as const;

/** Test harness (@cola/testing). An unset REDIS_URL means: start a Redis of our own. */
export const testHarnessConfig = defineConfig({
  REDIS_URL: optional(url({ protocols: ['redis:', 'rediss:'], doc: 'use this Redis instead of starting one' })),
  COLA_TEST_REDIS: oneOf(TEST_REDIS_SOURCES, {
    default: 'auto',
    doc: 'auto = Testcontainers when a Docker engine answers, else a local redis-server',
  }),
  COLA_TEST_VERBOSE: optional(str({ doc: "any value: the test stacks echo their services' logs" })),
  COLA_TEST_CONCURRENCY: int({ default: 1, min: 1, max: 64, doc: 'test files `tools/run-tests.mjs` runs at once' }),
  COLA_TEST_WEDGE_TRIGGER: optional(
    str({ doc: "reliability suite: a file whose appearance wedges the gpu-host's compute backend (read by its preloaded fault injector)" }),
  ),
  COLA_OBS_ROWS: int({ default: 48, min: 1, doc: 'training rows per job in the Prometheus test of test/observability' }),
  COLA_PROMETHEUS_BIN: str({ default: '/usr/bin/prometheus', doc: 'the Prometheus binary the observability tests start' }),
  COLA_CHROMIUM: str({ default: '/usr/bin/chromium', doc: 'the Chromium the browser tests and the plot renderer drive' }),
});

/**
 * Variables read outside the services' own configs: by a library inside every process (it
 * validates the value itself), by the `cola` CLI and by `npm start`.
 */
export const toolEnvSpec = {
  COLA_BACKEND: optional(str({ doc: "forces a tfjs backend (validated by @cola/gl's initBackend)" })),
  COLA_API_URL: optional(url({ doc: '`cola` CLI and `npm run demo`: base URL of the gateway, e.g. http://127.0.0.1:3000' })),
  COLA_API_KEY: optional(str({ doc: '`cola` CLI: the tenant API key sent as `Authorization: Bearer <key>`' })),
  COLA_DEMO: optional(str({ doc: '`npm start`: 0 starts the local stack without the demo (what `cola up` does)' })),
  COLA_REDIS_DIR: optional(
    str({ doc: "`npm start`: keep Redis' append-only file in this dir across whole-stack restarts (default: a temp dir removed on stop)" }),
  ),
  COLA_DOCKER_BIN: optional(str({ doc: 'image builds (tools/images): the docker CLI to run (default: one with BuildKit)' })),
  COLA_IMAGE_TMP: str({ default: '/var/tmp', doc: 'image builds (tools/images): where the base image rootfs is assembled' }),
  BENCH_ROWS: optional(str({ doc: '`npm run bench:host-memory`: rows (sequences of 128 tokens) of the measured batch (default 8)' })),
} as const;

/** Every declared variable, name to spec (a later spec of the same name wins; only names matter here). */
export const ALL_ENV_SPECS = {
  ...gatewayConfig.spec,
  ...gpuHostConfig.spec,
  ...auxTrainerConfig.spec,
  ...mergerConfig.spec,
  ...testHarnessConfig.spec,
  ...toolEnvSpec,
} satisfies EnvSpec;

/** Name of every environment variable any of our processes reads; `ENV.X === 'X'`. */
export const ENV = Object.fromEntries(Object.keys(ALL_ENV_SPECS).map((name) => [name, name])) as {
  readonly [K in keyof typeof ALL_ENV_SPECS]: K;
};

/** Values with the model directory: COLA_BASE_MODEL_DIR wins over MODEL_DIR. */
export interface ModelDirEnv {
  readonly MODEL_DIR: string;
  readonly COLA_BASE_MODEL_DIR?: string | undefined;
}

/** The base checkpoint directory: COLA_BASE_MODEL_DIR, else MODEL_DIR (default models/cola-tiny). */
export function baseModelDirOf(env: ModelDirEnv): string {
  return env.COLA_BASE_MODEL_DIR ?? env.MODEL_DIR;
}
