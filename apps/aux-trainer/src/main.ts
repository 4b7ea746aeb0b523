// The aux-trainer process: validated env → AuxTrainerService (a BullMQ worker on the "adapt"
// queue) → /healthz; SIGTERM/SIGINT let the running fit tasks finish, then exit. All logic
// lives in @cola/pipeline; run any number of these against one Redis.
import { initBackend } from '@cola/gl';
import { ColaMetrics, createServiceRegistry, TenantLabels } from '@cola/metrics';
import { auxTrainerConfig } from '@cola/config';
import { AuxTrainerService, jsonLogger, runService, startHealthServer, startHeartbeat } from '@cola/pipeline';

runService(async () => {
  const env = auxTrainerConfig.load();
  const log = jsonLogger(env.LOG_LEVEL, 'aux-trainer');
  await initBackend({ log: (line) => log('info', line) });
  const registry = createServiceRegistry('aux-trainer');
  const metrics = ColaMetrics.of(registry, new TenantLabels(env.COLA_METRICS_TENANTS));
  const trainer = new AuxTrainerService({
    redisUrl: env.REDIS_URL,
    concurrency: env.AUX_TRAINER_CONCURRENCY,
    cacheJobs: env.COLA_AUX_CACHE_JOBS,
    keepVersions: env.COLA_AUX_KEEP_VERSIONS,
    lockMs: env.COLA_AUX_LOCK_MS,
    log,
    metrics,
  });
  await trainer.start();
  const health = await startHealthServer(env.METRICS_PORT, () => ({ running: trainer.running }), undefined, registry);
  log('info', 'aux-trainer ready', { metricsPort: health.port, concurrency: env.AUX_TRAINER_CONCURRENCY });

  // The gateway's readiness counts live instances by these beats.
  const heartbeat = await startHeartbeat(env.REDIS_URL, 'aux-trainer', (e) => log('warn', `heartbeat: ${e.message}`));

  return {
    log,
    stopping: 'finishing the running fit tasks',
    close: async () => {
      await heartbeat.stop();
      await trainer.close();
      await health.close();
    },
  };
});
