// The merger process: validated env → MergerService (served deltas from "aux published", gRPC
// Inference on MERGER_GRPC_PORT) → /healthz; SIGTERM/SIGINT finish the running calls and
// events, then exit. All logic lives in @cola/pipeline.
import { EnvConfigError } from '@cola/config';
import { initBackend } from '@cola/gl';
import { ColaMetrics, createServiceRegistry, TenantLabels } from '@cola/metrics';
import { jsonLogger, MergerService, mergerEnv, mergerModelDirOf, startHealthServer } from '@cola/pipeline';

async function main(): Promise<void> {
  const env = mergerEnv.load();
  const log = jsonLogger(env.LOG_LEVEL, 'merger');
  await initBackend({ log: (line) => log('info', line) });
  const modelDir = mergerModelDirOf(env);
  const registry = createServiceRegistry('merger');
  const metrics = ColaMetrics.of(registry, new TenantLabels(env.COLA_METRICS_TENANTS));
  const merger = new MergerService({ redisUrl: env.REDIS_URL, modelDir, grpcPort: env.MERGER_GRPC_PORT, maxModels: env.COLA_MERGER_MAX_MODELS, log, metrics });
  const grpcPort = await merger.start();
  const health = await startHealthServer(env.METRICS_PORT, () => ({ running: merger.running, grpcPort }), undefined, registry);
  log('info', 'merger ready', { modelDir, grpcPort, metricsPort: health.port });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: finishing the running calls`);
    try {
      await merger.close();
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
