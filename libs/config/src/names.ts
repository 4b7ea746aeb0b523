import { assertId, assertIndex, bullJobId } from './ids';

/**
 * Every Redis key the platform writes starts with this prefix, so one Redis can be shared with
 * other applications and `SCAN MATCH cola:*` finds all of ours.
 */
export const KEY_PREFIX = 'cola:';

/**
 * BullMQ's `prefix` option for every Queue, Worker, QueueEvents and FlowProducer. BullMQ writes
 * `<prefix>:<queue>:<suffix>` keys, so queues live under `cola:q:` and cannot collide with the
 * key families below (none of them is called `q`). Every party must pass the SAME prefix, or
 * producers and workers silently talk to different queues.
 */
export const BULLMQ_PREFIX = `${KEY_PREFIX}q`;

/**
 * BullMQ queue names. A BullMQ job is delivered to exactly ONE worker, so an event that several
 * services must all see gets one queue per consuming service (fan-out by the producer).
 *
 * Job events for tenants are not a queue: they are a capped Redis stream per job
 * ({@link keys.jobEvents}), which the gateway can page through and tail.
 */
export const QUEUES = {
  /**
   * gateway → gpu-host. One BullMQ job per fine-tuning job; its data is the job id (the spec
   * lives at {@link keys.job}). Long running: the gpu-host keeps it active until the job ends.
   */
  jobs: 'jobs',
  /**
   * gpu-host → aux-trainers. One BullMQ job per fit task; its data is the claim-check reference
   * (payload key, size, sha256, seq, aux version), never the tensors (BullMQ stores job data in Redis and copies it on every state move, so megabytes per job would slow every queue operation).
   */
  adapt: 'adapt',
  /** aux-trainer → merger: "aux published" (job, version, seq), so the merger folds new deltas. */
  auxPublishedMerger: 'aux-published-merger',
  /**
   * aux-trainer → gpu-host: "aux published", so the host picks up the new aux version and frees
   * one of its K in-flight fit slots.
   */
  auxPublishedHost: 'aux-published-host',
} as const;

/** A BullMQ queue name of ours. */
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Every queue an aux-trainer adds "aux published" to, in the order it adds them. */
export const AUX_PUBLISHED_QUEUES: readonly QueueName[] = [QUEUES.auxPublishedMerger, QUEUES.auxPublishedHost];

/** Deterministic BullMQ job ids (see {@link bullJobId}): a re-added task is deduplicated. */
export const jobIds = {
  /** `adapt` job of fit task `seq` of a job: `<jobId>.<seq>`. */
  adapt: (jobId: string, seq: number): string => bullJobId(jobId, seq, 'jobId'),
  /** "aux published" job for aux `version` of a job: `<jobId>.<version>`. */
  auxPublished: (jobId: string, version: number): string => bullJobId(jobId, version, 'jobId'),
  /** `jobs` queue entry of a fine-tuning job: the job id itself. */
  job: (jobId: string): string => assertId('jobId', jobId),
} as const;

/**
 * BullMQ keys an autoscaler must sum for queue depth. Both lists count: jobs with a priority
 * wait in `prioritized`, not in `wait`, and scaling on `wait` alone starves them.
 */
export function queueDepthKeys(queue: QueueName): { wait: string; prioritized: string } {
  const base = `${BULLMQ_PREFIX}:${queue}`;
  return { wait: `${base}:wait`, prioritized: `${base}:prioritized` };
}

/**
 * BullMQ's events stream of a queue (what QueueEvents reads): capped by count
 * (`QUEUE_EVENTS_MAX_LEN`) and trimmed by age by the gpu-host's queue retention.
 */
export function queueEventsKey(queue: QueueName): string {
  return `${BULLMQ_PREFIX}:${queue}:events`;
}

/** Services that announce they are alive (what the gateway's readiness reports on). */
export const HEARTBEAT_SERVICES = ['gpu-host', 'aux-trainer', 'merger'] as const;
export type HeartbeatService = (typeof HEARTBEAT_SERVICES)[number];

const job = (jobId: string): string => `${KEY_PREFIX}job:${assertId('jobId', jobId)}`;
const tenant = (tenantId: string): string => `${KEY_PREFIX}tenant:${assertId('tenantId', tenantId)}`;
const upload = (fileId: string): string => `${KEY_PREFIX}upload:${assertId('fileId', fileId)}`;
/**
 * The aux family wraps the job id in braces: a Redis Cluster hash tag, so the head, the applied
 * index and every version of one job share a slot and the compare-and-set Lua script that
 * touches them all stays legal on a cluster.
 */
const aux = (jobId: string): string => `${KEY_PREFIX}aux:{${assertId('jobId', jobId)}}`;

/**
 * Redis key builders. Every builder validates its ids (see `assertId`), so two different
 * argument lists can never build the same key.
 */
export const keys = {
  /** Binary adaptation payload (an encoded AdaptationBatch) of fit task `seq`; TTL {@link TTLS.payloadSeconds}. */
  payload: (jobId: string, seq: number): string => `${KEY_PREFIX}payload:${assertId('jobId', jobId)}:${assertIndex('seq', seq)}`,
  /**
   * Binary payload of fit task `seq` published again (attempt 1, 2, ...) after the original
   * expired unread; TTL {@link TTLS.payloadSeconds}. A key per attempt: a reader holding an older
   * reference never reads bytes that another reference describes.
   */
  republishedPayload: (jobId: string, seq: number, attempt: number): string =>
    `${KEY_PREFIX}payload:${assertId('jobId', jobId)}:${assertIndex('seq', seq)}:r${assertIndex('attempt', attempt)}`,
  /**
   * Hash seq → re-publication entry (JSON) of a job: an aux-trainer that found a payload expired
   * asks for it here, the gpu-host that holds the job answers with the new reference; TTL
   * {@link TTLS.payloadSeconds}.
   */
  payloadRepublish: (jobId: string): string => `${job(jobId)}:republish`,
  /** Binary aux state (weights + optimizer slots) at `version`; superseded ones expire. */
  auxVersion: (jobId: string, version: number): string => `${aux(jobId)}:v${assertIndex('version', version)}`,
  /** Decimal string: the latest committed aux version of a job. Moved only by compare-and-set. */
  auxHead: (jobId: string): string => `${aux(jobId)}:head`,
  /** Hash seq → version that applied it: makes a redelivered fit task a no-op. */
  auxApplied: (jobId: string): string => `${aux(jobId)}:applied`,
  /** Binary served deltas of a job (what the merger folds into the base weights). */
  served: (jobId: string): string => `${KEY_PREFIX}served:${assertId('jobId', jobId)}`,
  /**
   * Set of job ids in a collaborative merge group (the paper's 'col' mode). A group belongs to the
   * tenant that names it: another tenant using the same name has its own set.
   */
  mergeGroup: (tenantId: string, group: string): string =>
    `${KEY_PREFIX}merge-group:${assertId('tenantId', tenantId)}:${assertId('mergeGroup', group)}`,
  /** Hash: the job record (status, encoded spec, timestamps, failure reason). */
  job,
  /** Hash: progress the gpu-host checkpoints (step, loss, tokens, data position, aux version). */
  jobProgress: (jobId: string): string => `${job(jobId)}:progress`,
  /** Stream of JobEvent entries, capped at {@link STREAMS.jobEvents.maxLen}. */
  jobEvents: (jobId: string): string => `${job(jobId)}:events`,
  /** Sorted set of checkpoint steps (score = step) of a job. */
  jobCheckpoints: (jobId: string): string => `${job(jobId)}:checkpoints`,
  /** Binary checkpoint (aux state) saved at `step`; kept until the job is deleted. */
  jobCheckpoint: (jobId: string, step: number): string => `${job(jobId)}:checkpoint:${assertIndex('step', step)}`,
  /** Hash: validation metrics stored when the job ends. */
  jobEval: (jobId: string): string => `${job(jobId)}:eval`,
  /** Hash: a tenant record. */
  tenant,
  /** Sorted set of a tenant's job ids by creation time (ms). */
  tenantJobs: (tenantId: string): string => `${tenant(tenantId)}:jobs`,
  /** Sorted set of a tenant's upload file ids by creation time (ms). */
  tenantUploads: (tenantId: string): string => `${tenant(tenantId)}:uploads`,
  /** Counter of a tenant's requests in the current rate-limit window; expires with the window. */
  tenantRateLimit: (tenantId: string): string => `${tenant(tenantId)}:ratelimit`,
  /** String: tenant id owning the API key whose SHA-256 (hex) is given; keys are never stored. */
  apiKey: (sha256Hex: string): string => {
    if (!/^[0-9a-f]{64}$/.test(sha256Hex)) {
      throw new TypeError('apiKey(): pass the lowercase hex SHA-256 of the key, never the key itself');
    }
    return `${KEY_PREFIX}apikey:${sha256Hex}`;
  },
  /** Binary upload body (JSONL), up to {@link LIMITS.uploadMaxBytes}. */
  upload,
  /**
   * Sorted set of a service's live instances (member = instance id, score = last beat in ms);
   * refreshed every {@link HEARTBEAT.intervalMs}, expires {@link TTLS.heartbeatSeconds} after the last beat.
   */
  heartbeats: (service: HeartbeatService): string => `${KEY_PREFIX}heartbeats:${service}`,
  /** Hash: upload metadata (tenant, filename, purpose, bytes, lines, sha256). */
  uploadMeta: (fileId: string): string => `${upload(fileId)}:meta`,
} as const;
