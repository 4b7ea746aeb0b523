import type { Registry } from 'prom-client';
import type { HeartbeatService, LOG_LEVELS } from '@cola/config';
import { initBackend } from '@cola/gl';
import { ColaMetrics, createServiceRegistry, TenantLabels } from '@cola/metrics';
import { startHeartbeat, type Heartbeat } from './heartbeat';
import { jsonLogger, type HostLogger } from './logger';

/** What every worker process has before its service starts. */
export interface WorkerProcess {
  /** The process's logger, at the environment's LOG_LEVEL. */
  log: HostLogger;
  /** The registry its /metrics serves. */
  registry: Registry;
  /** The service's metrics, tenant labels limited to COLA_METRICS_TENANTS. */
  metrics: ColaMetrics;
  /** Starts the beats by which the gateway's readiness counts live instances; a failed beat is a warning. */
  startHeartbeat(): Promise<Heartbeat>;
}

/**
 * The start every worker app (gpu-host, aux-trainer, merger) shares: its logger, the compute
 * backend (whose messages go to that logger), its metrics registry and its heartbeat.
 */
export async function startWorkerProcess(
  service: HeartbeatService,
  env: { REDIS_URL: string; LOG_LEVEL: (typeof LOG_LEVELS)[number]; COLA_METRICS_TENANTS: string | undefined },
): Promise<WorkerProcess> {
  const log = jsonLogger(env.LOG_LEVEL, service);
  await initBackend({ log: (line) => log('info', line) });
  const registry = createServiceRegistry(service);
  return {
    log,
    registry,
    metrics: ColaMetrics.of(registry, new TenantLabels(env.COLA_METRICS_TENANTS)),
    startHeartbeat: () => startHeartbeat(env.REDIS_URL, service, (e) => log('warn', `heartbeat: ${e.message}`)),
  };
}
