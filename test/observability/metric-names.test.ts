/**
 * Consistency of the observability artefacts (issue 6): every metric the dashboard, the alert
 * rules and the docs name exists in the ONE shared module (libs/config/src/metric-names.ts), and
 * every name there follows the conventions.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { allMetricNames, METRICS, seriesNames, type MetricSpec, COMMUNICATION_OVERHEAD_PROMQL } from '@cola/config';
import { createServiceRegistry } from '@cola/metrics';
import { alertExprs, alertSignals, dashboardExprs, FILES, metricNamesIn, REDIS_EXPORTER_SERIES } from './support/observability-files';

const SPECS: MetricSpec[] = Object.values(METRICS);
const COLA_SERIES = new Set(SPECS.flatMap(seriesNames));

/** Names prom-client's default metrics expose (process_*, nodejs_*). */
async function defaultMetricNames(): Promise<Set<string>> {
  const registry = createServiceRegistry('gateway');
  const metrics = await registry.getMetricsAsJSON();
  registry.clear();
  return new Set(
    metrics.flatMap((m) => (String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name])),
  );
}

describe('when the shared metric names are checked against the conventions', () => {
  it('should prefix every name with cola_, use base units, end counters (and only counters) in _total', () => {
    for (const s of SPECS) {
      assert.match(s.name, /^cola_[a-z0-9_]+$/, `${s.name}: snake_case with the cola_ prefix`);
      assert.equal(s.name.endsWith('_total'), s.type === 'counter', `${s.name}: counters, and only counters, end in _total`);
      assert.doesNotMatch(s.name, /_(ms|milliseconds|kb|mb|gb|kilobytes|megabytes)(_|$)/, `${s.name}: use base units (_seconds, _bytes)`);
      if (s.type === 'histogram') assert.match(s.name, /_(seconds|versions)$/, `${s.name}: a histogram names its unit`);
      if (/bytes/.test(s.name)) assert.match(s.name, /_bytes(_total)?$/, `${s.name}: bytes are the unit suffix`);
      assert.ok(s.help.length > 20, `${s.name}: a real help text`);
      assert.ok(s.services.length > 0, `${s.name}: exposed by some service`);
    }
    const names = allMetricNames();
    assert.equal(new Set(names).size, names.length, 'names are unique');
  });

  it('should keep labels bounded: no job or raw ids as labels', () => {
    for (const s of SPECS) {
      for (const l of s.labels) {
        assert.match(l, /^[a-z][a-z_]*$/, `${s.name}: label ${l}`);
        assert.doesNotMatch(l, /(^|_)(job|job_id|jobid|id|seq|version|key|tenant_id)$/i, `${s.name}: label ${l} would be unbounded`);
      }
    }
  });
});

describe('when the dashboard and the alert rules name metrics', () => {
  const exprs = [...dashboardExprs(), ...alertExprs()];

  it('should read only metrics of the shared module, default metrics or the documented redis_exporter series', async () => {
    const defaults = await defaultMetricNames();
    assert.ok(exprs.length >= 30, `found ${exprs.length} expressions`);
    let cola = 0;
    for (const { where, expr } of exprs) {
      const names = metricNamesIn(expr);
      assert.ok(names.length > 0, `${where}: no metric found in ${expr}`);
      for (const n of names) {
        if (n.startsWith('cola_')) {
          cola++;
          assert.ok(COLA_SERIES.has(n), `${where}: ${n} is not in libs/config/src/metric-names.ts`);
        } else if (n.startsWith('redis_'))
          assert.ok((REDIS_EXPORTER_SERIES as readonly string[]).includes(n), `${where}: ${n} is not a documented redis_exporter series`);
        else assert.ok(defaults.has(n), `${where}: ${n} is neither ours nor a prom-client default metric`);
      }
    }
    assert.ok(cola > 40, `the dashboard and alerts read ${cola} cola_ series`);
  });

  it('should chart every metric of the shared module in the dashboard', () => {
    const used = new Set(dashboardExprs().flatMap((e) => metricNamesIn(e.expr)));
    for (const s of SPECS)
      assert.ok(
        seriesNames(s).some((n) => used.has(n)),
        `no dashboard panel shows ${s.name}`,
      );
  });

  it('should strip alert thresholds down to a signal that still names a metric', () => {
    for (const { where, expr } of alertExprs()) {
      for (const signal of alertSignals(expr)) {
        assert.doesNotMatch(signal, /\s(>|<|>=|<=)\s*[0-9.]+$/, `${where}: ${signal}`);
        assert.ok(metricNamesIn(signal).length > 0, `${where}: ${signal}`);
      }
    }
  });

  it('should document every metric in docs/observability.md', () => {
    const docs = readFileSync(FILES.docs, 'utf8');
    for (const s of SPECS) assert.ok(docs.includes(`\`${s.name}\``), `docs/observability.md does not describe ${s.name}`);
    for (const n of REDIS_EXPORTER_SERIES) assert.ok(docs.includes(n), `docs/observability.md must name the exporter series ${n}`);
  });
});

describe('when the communication overhead is shown', () => {
  it('should use the one definition, (encode + write + adapt-queue wait + decode) / host step, on the dashboard and in the alert', () => {
    const overhead = [...dashboardExprs(), ...alertExprs()].filter((e) => /overhead/i.test(e.where));
    assert.ok(overhead.length >= 3, `found ${overhead.map((e) => e.where).join(', ')}`);
    for (const { where, expr } of overhead)
      assert.ok(expr.includes(COMMUNICATION_OVERHEAD_PROMQL), `${where} computes another ratio: ${expr}`);
  });
});
