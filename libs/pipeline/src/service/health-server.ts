import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { isMetricsRequest, writeMetrics } from '@cola/metrics';

/** A running health endpoint. */
export interface HealthServer {
  /** The port it listens on (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * A plain HTTP server on the metrics port answering `GET /healthz` with 200 and a JSON body
 * from `status()` (503 with `failure()`'s reason once that returns one), and, given a registry, `GET /metrics` in the Prometheus text format (the
 * pods' `prometheus.io/*` annotations point here). Anything else is 404.
 */
export function startHealthServer(
  port: number,
  status: () => Record<string, unknown>,
  host = '0.0.0.0',
  registry?: Registry,
  failure: () => string | undefined = () => undefined,
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/healthz' || req.url?.startsWith('/healthz?'))) {
      const reason = failure();
      if (reason !== undefined) {
        // Liveness fails, so an orchestrator restarts a process that can no longer compute.
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'failing', reason, ...status() }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', ...status() }));
      return;
    }
    if (registry && isMetricsRequest(req)) {
      void writeMetrics(registry, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`not found; try GET /healthz${registry ? ' or GET /metrics' : ''}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
