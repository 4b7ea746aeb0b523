// The aux-trainer process: validated env → AuxTrainerService (a BullMQ worker on the "adapt"
// queue) → /healthz; SIGTERM/SIGINT let the running fit tasks finish, then exit. All logic
// lives in @cola/pipeline; run any number of these against one Redis.
import { EnvConfigError } from '@cola/config';
import { initBackend } from '@cola/gl';
import { ColaMetrics, createServiceRegistry, TenantLabels } from '@cola/metrics';
import { AuxTrainerService, auxTrainerEnv, jsonLogger, startHealthServer } from '@cola/pipeline';

async function main(): Promise<void> {
  const env = auxTrainerEnv.load();
  const log = jsonLogger(env.LOG_LEVEL, 'aux-trainer');
  await initBackend({ log: (line) => log('info', line) });
  const registry = createServiceRegistry('aux-trainer');
  const metrics = ColaMetrics.of(registry, new TenantLabels(env.COLA_METRICS_TENANTS));
  const trainer = new AuxTrainerService({ redisUrl: env.REDIS_URL, concurrency: env.AUX_TRAINER_CONCURRENCY, cacheJobs: env.COLA_AUX_CACHE_JOBS, lockMs: env.COLA_AUX_LOCK_MS, log, metrics });
  await trainer.start();
  const health = await startHealthServer(env.METRICS_PORT, () => ({ running: trainer.running }), undefined, registry);
  log('info', 'aux-trainer ready', { metricsPort: health.port, concurrency: env.AUX_TRAINER_CONCURRENCY });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: finishing the running fit tasks`);
    try {
      await trainer.close();
      await health.close();
      process.exit(0);
    } catch (e) {
      log('error', `shutdown failed: ${(e as Error).message}`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((e: unknown) => {
  // A bad environment lists every problem with its fix; anything else is a crash at start.
  process.stderr.write(`${e instanceof EnvConfigError ? e.message : ((e as Error).stack ?? String(e))}\n`);
  process.exit(1);
});
