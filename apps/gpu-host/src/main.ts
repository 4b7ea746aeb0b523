// The gpu-host process: validated env → base model → HostService → /healthz; SIGTERM/SIGINT
// hand the active jobs back to the queue and exit. All logic lives in @cola/pipeline.
import { loadCheckpoint } from '@cola/model';
import { baseModelDirOf, gpuHostConfig } from '@cola/config';
import { exitOnBackendAbort, HostService, runService, startHealthServer, startWorkerProcess } from '@cola/pipeline';

runService(async () => {
  const env = gpuHostConfig.load();
  const { log, registry, metrics, startHeartbeat } = await startWorkerProcess('gpu-host', env);
  const modelDir = baseModelDirOf(env);
  const model = await loadCheckpoint(modelDir);
  const host = new HostService({
    redisUrl: env.REDIS_URL,
    model,
    maxActiveJobs: env.COLA_MAX_ACTIVE_JOBS,
    maxTenantsPerBatch: env.COLA_MAX_TENANTS_PER_BATCH,
    payloadTtlSeconds: env.PAYLOAD_TTL_SECONDS,
    memoryBudgetMb: env.COLA_HOST_MEMORY_BUDGET_MB,
    queueRetentionSeconds: env.COLA_QUEUE_RETENTION_SECONDS,
    jobLockMs: env.COLA_HOST_JOB_LOCK_MS,
    log,
    metrics,
  });
  await host.start();
  const health = await startHealthServer(
    env.METRICS_PORT,
    () => ({ activeJobs: host.activeJobIds.length, steps: host.steps }),
    undefined,
    registry,
    () => host.failure,
  );
  log('info', 'gpu-host ready', { modelDir, metricsPort: health.port, parameters: model.parameterCount() });

  const heartbeat = await startHeartbeat();
  // A wasm abort wedges the backend for good: hand the jobs back and exit non-zero to be restarted.
  exitOnBackendAbort(host, log, async () => {
    await heartbeat.stop();
    await health.close();
    model.dispose();
  });

  return {
    log,
    stopping: 'handing active jobs back to the queue',
    close: async () => {
      await heartbeat.stop();
      await host.close();
      await health.close();
      model.dispose();
    },
  };
});
