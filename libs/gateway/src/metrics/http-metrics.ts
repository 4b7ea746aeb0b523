import type { NextFunction, Request, Response } from 'express';
import { Histogram, type Registry } from 'prom-client';

/** Name of the gateway's request-duration histogram. */
export const HTTP_DURATION_METRIC = 'cola_gateway_http_request_duration_seconds';

/**
 * Express middleware timing every request into a histogram labelled by method, route template
 * (`/v1/fine_tuning/jobs/:job_id`, never the raw path, so ids do not explode the label set) and
 * status. Unmatched paths share one label.
 */
export function httpMetricsMiddleware(registry: Registry): (req: Request, res: Response, next: NextFunction) => void {
  const histogram = new Histogram({
    name: HTTP_DURATION_METRIC,
    help: 'Gateway HTTP request duration in seconds, by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return (req, res, next) => {
    const end = histogram.startTimer();
    res.once('finish', () => {
      const route = (req.route as { path?: unknown } | undefined)?.path;
      end({ method: req.method, route: typeof route === 'string' ? route : 'unmatched', status: String(res.statusCode) });
    });
    next();
  };
}
