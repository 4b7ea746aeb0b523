/**
 * Lifetimes of what we keep in Redis, in seconds. A TTL is a safety net against leaks, never the
 * mechanism that makes things correct: consumers delete what they are done with.
 */
export const TTLS = {
  /**
   * Adaptation payloads. An aux-trainer normally consumes one within seconds; an hour leaves room
   * for a backlog and for BullMQ's retries with backoff. A payload that expires before it is
   * fitted is asked for again (keys.payloadRepublish): the gpu-host recomputes and re-publishes it.
   */
  payloadSeconds: 60 * 60,
  /**
   * Superseded aux versions. A trainer that loaded version v while another committed v+1 still
   * needs v for a moment (its commit will then be refused as a conflict); after that nobody does.
   */
  auxSupersededSeconds: 60 * 60,
  /** A service instance counts as alive this long after its last heartbeat. */
  heartbeatSeconds: 15,
} as const;

/** How long the records of finished work are kept in Redis. */
export const QUEUE_RETENTION = {
  /**
   * Seconds a completed queue record (a fit task, an "aux published" announcement, a finished
   * job's `jobs` entry) and a queue's BullMQ event are kept before the gpu-host's sweep removes
   * them. They are debugging aids, not state: nothing reads them once the work is done.
   */
  completedSeconds: 60 * 60,
  /** Most seconds between two sweeps (a shorter retention sweeps as often as it is long). */
  maxSweepSeconds: 60,
} as const;

/** How often services announce they are alive (see keys.heartbeats). */
export const HEARTBEAT = {
  /** Beat period; three missed beats and the instance counts as gone. */
  intervalMs: 5_000,
} as const;

/** How aux versions are retained. */
export const AUX_RETENTION = {
  /**
   * Number of newest aux versions kept without a TTL (the head included). Older versions get
   * {@link TTLS.auxSupersededSeconds}. Three lets a restarted gpu-host fall back a step or two.
   */
  keepVersions: 3,
} as const;

/** Size and length caps. */
export const LIMITS = {
  /** Largest upload (JSONL) the gateway stores in Redis; larger files are refused with 413. */
  uploadMaxBytes: 32 * 1024 * 1024,
  /** Approximate cap (XADD MAXLEN ~) of each job's event stream. */
  jobEventsMaxLen: 1000,
} as const;
