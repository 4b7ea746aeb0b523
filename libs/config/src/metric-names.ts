import { QUEUES } from './names';

/**
 * The ONE source of every Prometheus metric name of the platform, so the dashboard, alerts and services cannot drift apart. Services register
 * their metrics from these specs (via @cola/metrics), and the Grafana dashboard, the alert rules
 * and the docs are checked against them by test/observability/metric-names.test.ts.
 *
 * Conventions (Prometheus naming best practices): the `cola_` prefix, base units in the name
 * (`_bytes`, `_seconds`), counters end in `_total`, labels are bounded (a `tenant` label carries
 * a real tenant id only when {@link ENV_METRICS_TENANTS} lists it; every other tenant is
 * {@link OTHER_TENANT}; job ids are never labels).
 */

/** Prometheus metric types we use. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A service that exposes /metrics; also the value of the `service` label every series carries. */
export type MetricService = 'gateway' | 'gpu-host' | 'aux-trainer' | 'merger';

/** One metric: its name, type, help text, label names and the services that expose it. */
export interface MetricSpec {
  /** Full Prometheus name (`cola_...`). */
  readonly name: string;
  /** Counter, gauge or histogram. */
  readonly type: MetricType;
  /** One sentence for `# HELP` and docs. */
  readonly help: string;
  /** Label names; every one has a bounded set of values. */
  readonly labels: readonly string[];
  /** Services that register it at start (so unlabelled series exist from the first scrape). */
  readonly services: readonly MetricService[];
}

/** Name of the env variable with the comma-separated tenant ids that may appear as `tenant` labels. */
export const ENV_METRICS_TENANTS = 'COLA_METRICS_TENANTS';

/** `tenant` label value of every tenant not on the allowlist. */
export const OTHER_TENANT = 'other';

/** `direction` label values of the transfer byte counters. */
export const TRANSFER_DIRECTIONS = {
  /** Adaptation payloads (X, G or X^T G): gpu-host writes, aux-trainer reads. */
  hostToTrainer: 'host_to_trainer',
  /** Aux state versions: aux-trainer writes, gpu-host reads the new version. */
  trainerToHost: 'trainer_to_host',
  /** Aux state versions read by the aux-trainer itself (state load on a cache miss). */
  trainerState: 'trainer_state',
  /** Aux state versions read by the merger to fold into served deltas. */
  trainerToMerger: 'trainer_to_merger',
} as const;

/** `mode`/`dtype` label values of aux-state transfers (they have no adaptation transfer spec). */
export const STATE_TRANSFER = { mode: 'state', dtype: 'fp32' } as const;

/**
 * Every `mode`/`dtype` label pair of an adaptation transfer. Services start their labelled series
 * for these at 0: Prometheus's rate() ignores a series' first sample, so a job that fits between
 * two scrapes would otherwise show no increase at all.
 */
export const ADAPTATION_TRANSFER_LABELS: readonly { mode: 'activations' | 'gram'; dtype: 'fp32' | 'fp16' | 'bf16' }[] = (
  ['activations', 'gram'] as const
).flatMap((mode) => (['fp32', 'fp16', 'bf16'] as const).map((dtype) => ({ mode, dtype })));

/** `state` label values of {@link METRICS.queueJobs} (BullMQ `Queue.getJobCounts` types). */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;

/** Histogram buckets (seconds) of every stage timing: 0.5 ms to 60 s. */
export const SECONDS_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Histogram buckets of the staleness (versions behind) per host step. */
export const STALENESS_BUCKETS: readonly number[] = [0, 1, 2, 3, 4, 6, 8, 16, 32];

const HOST = ['gpu-host'] as const;
const TRAINER = ['aux-trainer'] as const;

/** Every metric of the platform, keyed by the name code uses. */
export const METRICS = {
  transferWrittenBytes: {
    name: 'cola_transfer_written_bytes_total',
    type: 'counter',
    help: 'Bytes written to Redis for another service, by direction, transfer mode and wire dtype.',
    labels: ['direction', 'mode', 'dtype'],
    services: ['gpu-host', 'aux-trainer'],
  },
  transferReadBytes: {
    name: 'cola_transfer_read_bytes_total',
    type: 'counter',
    help: 'Bytes read from Redis that another service (or an earlier fit step) wrote, by direction, transfer mode and wire dtype.',
    labels: ['direction', 'mode', 'dtype'],
    services: ['gpu-host', 'aux-trainer', 'merger'],
  },
  hostForwardSeconds: {
    name: 'cola_host_forward_seconds',
    type: 'histogram',
    help: 'gpu-host: forward pass of one host step (all tenants of a mixed batch).',
    labels: [],
    services: HOST,
  },
  hostBackwardSeconds: {
    name: 'cola_host_backward_seconds',
    type: 'histogram',
    help: 'gpu-host: back-propagation to the adapted hidden states of one host step.',
    labels: [],
    services: HOST,
  },
  hostStepSeconds: {
    name: 'cola_host_step_seconds',
    type: 'histogram',
    help: 'gpu-host: whole host step (forward + backward + split by tenant), the denominator of the overhead ratio.',
    labels: [],
    services: HOST,
  },
  hostEncodeSeconds: {
    name: 'cola_host_encode_seconds',
    type: 'histogram',
    help: 'gpu-host: encoding one adaptation payload (the X^T G reductions of its batches in gram mode, dtype conversion and protobuf).',
    labels: ['mode', 'dtype'],
    services: HOST,
  },
  hostWriteSeconds: {
    name: 'cola_host_write_seconds',
    type: 'histogram',
    help: 'gpu-host: writing one payload to Redis and adding its fit task.',
    labels: ['mode', 'dtype'],
    services: HOST,
  },
  hostGramSeconds: {
    name: 'cola_host_gram_seconds',
    type: 'histogram',
    help: 'gpu-host: the X^T G and colsum G reductions of one tenant batch in gram mode (part of the encode stage of the overhead ratio).',
    labels: [],
    services: HOST,
  },
  hostTransferChoices: {
    name: 'cola_host_transfer_choices_total',
    type: 'counter',
    help: 'gpu-host: jobs started per resolved transfer mode and dtype, and why (requested, or auto and the rule that decided).',
    labels: ['mode', 'dtype', 'reason'],
    services: HOST,
  },
  queueWaitSeconds: {
    name: 'cola_queue_wait_seconds',
    type: 'histogram',
    help: 'Time from enqueue to the first start of a queued task, by queue.',
    labels: ['queue'],
    services: TRAINER,
  },
  trainerDecodeSeconds: {
    name: 'cola_trainer_decode_seconds',
    type: 'histogram',
    help: 'aux-trainer: fetching (checksum) and decoding one adaptation payload.',
    labels: ['mode', 'dtype'],
    services: TRAINER,
  },
  trainerStateLoadSeconds: {
    name: 'cola_trainer_state_load_seconds',
    type: 'histogram',
    help: 'aux-trainer: getting the aux state at the head (cache hit or Redis read + decode).',
    labels: ['cache'],
    services: TRAINER,
  },
  trainerFitSeconds: {
    name: 'cola_trainer_fit_seconds',
    type: 'histogram',
    help: 'aux-trainer: the Gradient Learning fit step over every adapted layer.',
    labels: [],
    services: TRAINER,
  },
  trainerStateWriteSeconds: {
    name: 'cola_trainer_state_write_seconds',
    type: 'histogram',
    help: 'aux-trainer: encoding the new aux version and committing it (compare-and-set).',
    labels: [],
    services: TRAINER,
  },
  mergerMergeSeconds: {
    name: 'cola_merger_merge_seconds',
    type: 'histogram',
    help: 'merger: folding one aux version into the served deltas.',
    labels: ['status'],
    services: ['merger'],
  },
  hostSteps: {
    name: 'cola_host_steps_total',
    type: 'counter',
    help: 'gpu-host: host steps run (one forward/backward, possibly over several tenants).',
    labels: [],
    services: HOST,
  },
  hostBatches: {
    name: 'cola_host_batches_total',
    type: 'counter',
    help: 'gpu-host: tenant batches trained (a mixed host step counts one per tenant).',
    labels: ['tenant'],
    services: HOST,
  },
  hostTokens: {
    name: 'cola_host_tokens_total',
    type: 'counter',
    help: 'gpu-host: real (non-padding) tokens trained.',
    labels: ['tenant'],
    services: HOST,
  },
  hostFitTasks: {
    name: 'cola_host_fit_tasks_published_total',
    type: 'counter',
    help: 'gpu-host: fit tasks published to the adapt queue.',
    labels: ['mode', 'dtype'],
    services: HOST,
  },
  trainerFitSteps: {
    name: 'cola_trainer_fit_steps_total',
    type: 'counter',
    help: 'aux-trainer: fit tasks handled: committed (a new aux version) or duplicate (applied before).',
    labels: ['outcome'],
    services: TRAINER,
  },
  trainerFailures: {
    name: 'cola_trainer_fit_failures_total',
    type: 'counter',
    help: 'aux-trainer: fit task attempts that failed (rejected payload, order timeout, or an error that is retried).',
    labels: ['reason'],
    services: TRAINER,
  },
  trainerDelays: {
    name: 'cola_trainer_fit_delays_total',
    type: 'counter',
    help: 'aux-trainer: fit tasks put back to wait for their predecessor or after a lost compare-and-set.',
    labels: [],
    services: TRAINER,
  },
  hostStaleness: {
    name: 'cola_host_staleness_versions',
    type: 'histogram',
    help: 'gpu-host: versions the aux used by a tenant batch is behind (fit tasks in flight), per step.',
    labels: [],
    services: HOST,
  },
  hostStalenessBound: {
    name: 'cola_host_staleness_bound_versions',
    type: 'gauge',
    help: 'gpu-host: the largest staleness bound K among the active jobs.',
    labels: [],
    services: HOST,
  },
  hostStalenessOverBound: {
    name: 'cola_host_staleness_over_bound_total',
    type: 'counter',
    help: 'gpu-host: tenant batches that ran more versions behind than their bound K (must stay 0).',
    labels: [],
    services: HOST,
  },
  hostActiveJobs: {
    name: 'cola_host_active_jobs',
    type: 'gauge',
    help: 'gpu-host: fine-tuning jobs being trained.',
    labels: [],
    services: HOST,
  },
  hostBackendBytes: {
    name: 'cola_host_backend_bytes',
    type: 'gauge',
    help: "gpu-host: the compute backend's memory at scrape time, by kind: heap (the wasm heap, which only grows: its high-water mark, held clear of the 4 GiB wasm32 ceiling by the memory budget), live (tensor buffers now) and peak (the most tensor buffers at once).",
    labels: ['kind'],
    services: HOST,
  },
  queueJobs: {
    name: 'cola_queue_jobs',
    type: 'gauge',
    help: 'BullMQ jobs per queue and state, read with Queue.getJobCounts at scrape time.',
    labels: ['queue', 'state'],
    services: HOST,
  },
  trainingLoss: {
    name: 'cola_training_loss',
    type: 'gauge',
    help: 'Training loss of the last batch of a tenant (tenant label bounded by the allowlist).',
    labels: ['tenant'],
    services: HOST,
  },
  trainingTokensPerSecond: {
    name: 'cola_training_tokens_per_second',
    type: 'gauge',
    help: 'gpu-host: tokens of the last host step divided by its wall time.',
    labels: [],
    services: HOST,
  },
  inferenceSeconds: {
    name: 'cola_inference_seconds',
    type: 'histogram',
    help: 'Inference latency by method and outcome (merger: the gRPC handler; gateway: the HTTP call including the merger).',
    labels: ['method', 'outcome'],
    services: ['merger', 'gateway'],
  },
} as const satisfies Record<string, MetricSpec>;

/**
 * THE communication overhead ratio of the platform, (encode + write + queue wait + decode) / host
 * step time, as PromQL over a 1-minute rate window. Encode includes the host's X^T G reductions
 * in gram mode. The dashboard, the alert rules, the docs, the CLI summary and bench:pipeline use
 * this one definition (test/observability checks the dashboard and alerts against it).
 */
export const COMMUNICATION_OVERHEAD_PROMQL =
  `(sum(rate(${METRICS.hostEncodeSeconds.name}_sum[1m])) + sum(rate(${METRICS.hostWriteSeconds.name}_sum[1m])) + ` +
  `sum(rate(${METRICS.queueWaitSeconds.name}_sum{queue="${QUEUES.adapt}"}[1m])) + sum(rate(${METRICS.trainerDecodeSeconds.name}_sum[1m]))) / ` +
  `sum(rate(${METRICS.hostStepSeconds.name}_sum[1m]))`;

/** A key of {@link METRICS}. */
export type MetricKey = keyof typeof METRICS;

/** Every metric name we define. */
export function allMetricNames(): string[] {
  return Object.values(METRICS).map((m) => m.name);
}

/**
 * The series names a metric exposes: a histogram is scraped as `_bucket`, `_sum` and `_count`,
 * the others under their own name. PromQL in dashboards and alerts uses these.
 */
export function seriesNames(spec: MetricSpec): string[] {
  return spec.type === 'histogram' ? [`${spec.name}_bucket`, `${spec.name}_sum`, `${spec.name}_count`] : [spec.name];
}
