// The gpu-host process: validated env → base model → HostService → /healthz; SIGTERM/SIGINT
// hand the active jobs back to the queue and exit. All logic lives in @cola/pipeline.
import { initBackend } from '@cola/gl';
import { loadCheckpoint } from '@cola/model';
import { ColaMetrics, createServiceRegistry, TenantLabels } from '@cola/metrics';
import { baseModelDirOf, gpuHostConfig } from '@cola/config';
import { HostService, jsonLogger, runService, startHealthServer, startHeartbeat } from '@cola/pipeline';

runService(async () => {
  const env = gpuHostConfig.load();
  const log = jsonLogger(env.LOG_LEVEL);
  await initBackend({ log: (line) => log('info', line) });
  const modelDir = baseModelDirOf(env);
  const model = await loadCheckpoint(modelDir);
  const registry = createServiceRegistry('gpu-host');
  const metrics = ColaMetrics.of(registry, new TenantLabels(env.COLA_METRICS_TENANTS));
  const host = new HostService({
    redisUrl: env.REDIS_URL,
    model,
    maxActiveJobs: env.COLA_MAX_ACTIVE_JOBS,
    maxTenantsPerBatch: env.COLA_MAX_TENANTS_PER_BATCH,
    payloadTtlSeconds: env.PAYLOAD_TTL_SECONDS,
    log,
    metrics,
  });
  await host.start();
  const health = await startHealthServer(
    env.METRICS_PORT,
    () => ({ activeJobs: host.activeJobIds.length, steps: host.steps }),
    undefined,
    registry,
  );
  log('info', 'gpu-host ready', { modelDir, metricsPort: health.port, parameters: model.parameterCount() });

  // The gateway's readiness counts live instances by these beats.
  const heartbeat = await startHeartbeat(env.REDIS_URL, 'gpu-host', (e) => log('warn', `heartbeat: ${e.message}`));

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
