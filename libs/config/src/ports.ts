/**
 * Default TCP ports. Kubernetes manifests, Prometheus scrape configs and the local `npm start`
 * all take them from here; each can be overridden by its env variable (see env-vars.ts).
 */
export const PORTS = {
  /** Redis. */
  redis: 6379,
  /** gateway: public HTTP API, OpenAPI docs, /healthz, /readyz and /metrics on one port. */
  gatewayHttp: 3000,
  /** merger: gRPC Inference service (classify, generate, status), called by the gateway. */
  mergerGrpc: 50051,
  /** Prometheus /metrics (and /healthz) of the workers that have no public HTTP port. */
  metrics: {
    /** gpu-host. */
    gpuHost: 9101,
    /** aux-trainer; every replica listens on the same port in its own pod. */
    auxTrainer: 9102,
    /** merger (its gRPC port does not speak HTTP). */
    merger: 9103,
  },
} as const;

/** Every distinct default port, for a collision test and for docs. */
export function allDefaultPorts(): Record<string, number> {
  return {
    redis: PORTS.redis,
    gatewayHttp: PORTS.gatewayHttp,
    mergerGrpc: PORTS.mergerGrpc,
    gpuHostMetrics: PORTS.metrics.gpuHost,
    auxTrainerMetrics: PORTS.metrics.auxTrainer,
    mergerMetrics: PORTS.metrics.merger,
  };
}
