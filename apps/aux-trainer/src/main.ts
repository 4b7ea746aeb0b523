// The aux-trainer process: validated env → AuxTrainerService (a BullMQ worker on the "adapt"
// queue) → /healthz; SIGTERM/SIGINT let the running fit tasks finish, then exit. All logic
// lives in @cola/pipeline; run any number of these against one Redis.
import { auxTrainerConfig } from '@cola/config';
import { AuxTrainerService, runService, startHealthServer, startWorkerProcess } from '@cola/pipeline';

runService(async () => {
  const env = auxTrainerConfig.load();
  const { log, registry, metrics, startHeartbeat } = await startWorkerProcess('aux-trainer', env);
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
  const heartbeat = await startHeartbeat();

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
