// The merger process: validated env → MergerService (served deltas from "aux published", gRPC
// Inference on MERGER_GRPC_PORT) → /healthz; SIGTERM/SIGINT finish the running calls and
// events, then exit. All logic lives in @cola/pipeline.
import { baseModelDirOf, mergerConfig } from '@cola/config';
import { MergerService, runService, startHealthServer, startWorkerProcess } from '@cola/pipeline';

runService(async () => {
  const env = mergerConfig.load();
  const { log, registry, metrics, startHeartbeat } = await startWorkerProcess('merger', env);
  const modelDir = baseModelDirOf(env);
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
  const heartbeat = await startHeartbeat();

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
