import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { METRICS, SECONDS_BUCKETS, STALENESS_BUCKETS, type MetricKey, type MetricService, type MetricSpec } from '@cola/config';
import { TenantLabels } from './tenant-labels';

type Spec<T extends MetricSpec['type']> = { [K in MetricKey]: (typeof METRICS)[K]['type'] extends T ? K : never }[MetricKey];

/** Counter keys of {@link METRICS}. */
export type CounterKey = Spec<'counter'>;
/** Gauge keys of {@link METRICS}. */
export type GaugeKey = Spec<'gauge'>;
/** Histogram keys of {@link METRICS}. */
export type HistogramKey = Spec<'histogram'>;

/** Label values of one observation; only the spec's label names are allowed by prom-client. */
export type Labels = Record<string, string>;

const memo = new WeakMap<Registry, ColaMetrics>();

/**
 * The platform's metrics on one registry, created from the shared catalogue (`METRICS` of
 * @cola/config) so no service can invent a name. Metrics are get-or-create: services that share
 * a process (tests) and a registry share the metric objects instead of failing on a duplicate.
 */
export class ColaMetrics {
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly histograms = new Map<string, Histogram>();
  /** Scrape-time collectors of gauges, by name (set whether the gauge existed before or not). */
  private readonly collectors = new Map<string, (gauge: Gauge) => Promise<void>>();

  private constructor(
    /** The registry the metrics live in (what /metrics serves). */
    readonly registry: Registry,
    /** Maps tenant ids to bounded `tenant` label values. */
    readonly tenants: TenantLabels,
  ) {}

  /**
   * The metrics of `registry` (one instance per registry). `tenants` is taken on the first call
   * only. Without a registry: a private one that nobody scrapes (a service built in a test).
   */
  static of(registry: Registry = new Registry(), tenants: TenantLabels = new TenantLabels()): ColaMetrics {
    let m = memo.get(registry);
    if (!m) {
      m = new ColaMetrics(registry, tenants);
      memo.set(registry, m);
    }
    return m;
  }

  /**
   * Creates every metric `service` exposes, so series without labels (and histograms) are
   * scraped as 0 from the start: `rate()` and alert rules then have data before the first event.
   */
  registerService(service: MetricService): this {
    for (const [key, spec] of Object.entries(METRICS) as [MetricKey, MetricSpec][]) {
      if (!spec.services.includes(service)) continue;
      if (spec.type === 'counter') this.counter(key as CounterKey);
      else if (spec.type === 'gauge') this.gauge(key as GaugeKey);
      else this.histogram(key as HistogramKey);
    }
    return this;
  }

  /** The counter `key`. */
  counter(key: CounterKey): Counter {
    const spec: MetricSpec = METRICS[key];
    let c = this.counters.get(spec.name);
    if (!c) {
      c = new Counter({ name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [this.registry] });
      this.counters.set(spec.name, c);
    }
    return c;
  }

  /**
   * The gauge `key`. `collect`, when given, runs on every scrape before the value is read (it
   * replaces an earlier one), whether or not the gauge was created before, e.g. by
   * {@link registerService}.
   */
  gauge(key: GaugeKey, collect?: (gauge: Gauge) => Promise<void>): Gauge {
    const spec: MetricSpec = METRICS[key];
    if (collect) this.collectors.set(spec.name, collect);
    let g = this.gauges.get(spec.name);
    if (!g) {
      const collectors = this.collectors;
      g = new Gauge({
        name: spec.name,
        help: spec.help,
        labelNames: [...spec.labels],
        registers: [this.registry],
        async collect(this: Gauge) {
          await collectors.get(spec.name)?.(this);
        },
      });
      this.gauges.set(spec.name, g);
    }
    return g;
  }

  /** The histogram `key` (stage timings in seconds; staleness in versions). */
  histogram(key: HistogramKey): Histogram {
    const spec: MetricSpec = METRICS[key];
    let h = this.histograms.get(spec.name);
    if (!h) {
      const buckets = key === 'hostStaleness' ? STALENESS_BUCKETS : SECONDS_BUCKETS;
      h = new Histogram({
        name: spec.name,
        help: spec.help,
        labelNames: [...spec.labels],
        buckets: [...buckets],
        registers: [this.registry],
      });
      this.histograms.set(spec.name, h);
    }
    return h;
  }

  /** Observes a duration given in milliseconds on a seconds histogram (Prometheus base units). */
  observeMs(key: HistogramKey, ms: number, labels: Labels = {}): void {
    if (Number.isFinite(ms) && ms >= 0) this.histogram(key).observe(labels, ms / 1000);
  }

  /** `tenant` label value of a tenant id. */
  tenant(tenantId: string): string {
    return this.tenants.of(tenantId);
  }
}
