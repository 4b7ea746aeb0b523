// The merger process: validated env → MergerService (served deltas from "aux published", gRPC
// Inference on MERGER_GRPC_PORT) → /healthz; SIGTERM/SIGINT finish the running calls and
// events, then exit. All logic lives in @cola/pipeline.
import { initBackend } from '@cola/gl';
import { ColaMetrics, createServiceRegistry, TenantLabels } from '@cola/metrics';
import { baseModelDirOf, mergerConfig } from '@cola/config';
import { jsonLogger, MergerService, runService, startHealthServer, startHeartbeat } from '@cola/pipeline';

runService(async () => {
  const env = mergerConfig.load();
  const log = jsonLogger(env.LOG_LEVEL, 'merger');
  await initBackend({ log: (line) => log('info', line) });
  const modelDir = baseModelDirOf(env);
  const registry = createServiceRegistry('merger');
  const metrics = ColaMetrics.of(registry, new TenantLabels(env.COLA_METRICS_TENANTS));
  const merger = new MergerService({
    redisUrl: env.REDIS_URL,
    modelDir,
    grpcPort: env.MERGER_GRPC_PORT,
    grpcHost: env.MERGER_GRPC_HOST,
    maxModels: env.COLA_MERGER_MAX_MODELS,
    log,
    metrics,
  });
  const grpcPort = await merger.start();
  const health = await startHealthServer(env.METRICS_PORT, () => ({ running: merger.running, grpcPort }), undefined, registry);
  log('info', 'merger ready', { modelDir, grpcPort, metricsPort: health.port });

  // The gateway's readiness counts live instances by these beats.
  const heartbeat = await startHeartbeat(env.REDIS_URL, 'merger', (e) => log('warn', `heartbeat: ${e.message}`));

  return {
    log,
    stopping: 'finishing the running calls',
    close: async () => {
      await heartbeat.stop();
      await merger.close();
      await health.close();
    },
  };
});
