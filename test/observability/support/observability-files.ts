import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** Repository root (tests run from it). */
const ROOT = process.cwd();

/** Paths of the observability artefacts the tests check. */
export const FILES = {
  dashboard: join(ROOT, 'deploy/grafana/cola-dashboard.json'),
  alerts: join(ROOT, 'deploy/prometheus/alerts.yml'),
  docs: join(ROOT, 'docs/observability.md'),
} as const;

/** One PromQL expression and where it comes from. */
export interface NamedExpr {
  /** `dashboard: <panel> / <refId>` or `alert: <name>`. */
  where: string;
  expr: string;
}

interface DashboardJson {
  panels: { title: string; targets?: { refId: string; expr: string }[] }[];
}

interface AlertsYaml {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}

/** Every PromQL expression of the Grafana dashboard. */
export function dashboardExprs(): NamedExpr[] {
  const d = JSON.parse(readFileSync(FILES.dashboard, 'utf8')) as DashboardJson;
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `dashboard: ${p.title} / ${t.refId}`, expr: t.expr })));
}

/** Every expression of the alert rules. */
export function alertExprs(): NamedExpr[] {
  const a = parse(readFileSync(FILES.alerts, 'utf8')) as AlertsYaml;
  return a.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert: ${r.alert ?? r.record}`, expr: String(r.expr) })));
}

/** Metric names an expression reads (identifiers followed by `{`, `[`, `)` or space that look like series). */
export function metricNamesIn(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\[|\)|$|\s*[/*+-]|\s+(?:>|<|=|and|or|unless))/g)) {
    const name = m[1]!;
    if (
      /^(sum|rate|increase|delta|deriv|max|min|avg|count|by|without|le|histogram_quantile|and|or|unless|bool|on|ignoring|group_left|group_right|max_over_time|min_over_time|avg_over_time)$/.test(
        name,
      )
    )
      continue;
    if (/^[a-z]+(_[a-z0-9]+)+$/.test(name) || /^[a-z]+$/.test(name)) names.add(name);
  }
  return [...names].filter((n) => n.includes('_'));
}

/**
 * What an alert rule measures, without its thresholds: each side of a top-level `and` with its
 * trailing `> 100` / `>= 8` comparison dropped. A rule that does not fire returns no samples,
 * but its signal must, or the rule watches a series that does not exist.
 */
export function alertSignals(expr: string): string[] {
  return expr.split(/\s+and\s+/).map((part) => part.replace(/\s*(>=|<=|>|<|==|!=)\s*(bool\s+)?[0-9.eE+-]+\s*$/, '').trim());
}

/** Series produced by redis_exporter: they exist only where the exporter runs next to Redis. */
export const REDIS_EXPORTER_SERIES = ['redis_memory_used_bytes', 'redis_memory_max_bytes', 'redis_evicted_keys_total'] as const;

/** Whether an expression needs the redis_exporter. */
export function needsRedisExporter(expr: string): boolean {
  return REDIS_EXPORTER_SERIES.some((s) => expr.includes(s));
}
