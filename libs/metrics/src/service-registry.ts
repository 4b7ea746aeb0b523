import { collectDefaultMetrics, Registry } from 'prom-client';
import type { MetricService } from '@cola/config';

/** Options of {@link createServiceRegistry}. */
export interface ServiceRegistryOptions {
  /** Collect prom-client's default process and Node.js metrics (CPU, memory, event loop, GC). Default true. */
  defaultMetrics?: boolean;
}

/**
 * A fresh registry for one service process: every series carries `service="<name>"` (so one
 * Prometheus job can scrape several services and the dashboard can still tell them apart), plus
 * prom-client's default metrics. One per process: default metrics register process-wide
 * collectors, so a second registry with them would double-count nothing but waste work.
 */
export function createServiceRegistry(service: MetricService, opts: ServiceRegistryOptions = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}
