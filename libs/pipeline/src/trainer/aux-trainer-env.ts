import { auxTrainerConfig, defineConfig, ENV, int, optional, str, type EnvValues } from '@cola/config';

/**
 * Variables only the aux-trainer reads, on top of `auxTrainerConfig` of @cola/config
 * (REDIS_URL, LOG_LEVEL, METRICS_PORT, AUX_TRAINER_CONCURRENCY).
 */
export const AUX_TRAINER_ENV = {
  /** Jobs whose decoded aux state a trainer keeps live between fit tasks (0 = no cache). */
  COLA_AUX_CACHE_JOBS: 'COLA_AUX_CACHE_JOBS',
  /** Lock of a running fit task in ms; a dead trainer's task is taken over after it expires. */
  COLA_AUX_LOCK_MS: 'COLA_AUX_LOCK_MS',
} as const;

/** The aux-trainer's validated environment; the embedded default needs none of it set. */
export const auxTrainerEnv = defineConfig({
  ...auxTrainerConfig.spec,
  [AUX_TRAINER_ENV.COLA_AUX_CACHE_JOBS]: int({
    default: 16,
    min: 0,
    max: 4096,
    doc: 'jobs whose aux state stays cached between fit tasks (0 = off)',
  }),
  [AUX_TRAINER_ENV.COLA_AUX_LOCK_MS]: int({
    default: 30_000,
    min: 1000,
    max: 600_000,
    doc: 'lock of a running fit task in ms (a dead trainer is taken over after it)',
  }),
  [ENV.COLA_METRICS_TENANTS]: optional(str({ doc: 'comma-separated tenant ids allowed as metric labels (others: other)' })),
});

/** The loaded aux-trainer environment. */
export type AuxTrainerEnv = EnvValues<typeof auxTrainerEnv.spec>;
