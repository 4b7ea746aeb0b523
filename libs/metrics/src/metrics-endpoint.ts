import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** Whether a request is `GET /metrics` (with or without a query string). */
export function isMetricsRequest(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?') === true);
}

/** Answers a scrape with the registry in the Prometheus text format; a collector error is a 500. */
export async function writeMetrics(registry: Registry, res: ServerResponse): Promise<void> {
  try {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(body);
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`metrics collection failed: ${(e as Error).message}\n`);
  }
}
