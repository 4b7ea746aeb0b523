import { LIMITS, OptionChecks } from '@cola/config';
import type { HostLogLevel } from '@cola/pipeline';

/** How the gateway runs. Every field but `redisUrl` has a default. */
export interface GatewayOptions {
  /** Redis connection URL (redis:// or rediss://). */
  redisUrl: string;
  /** host:port of the merger's gRPC Inference service. Default `127.0.0.1:50051`. */
  mergerAddress?: string;
  /**
   * The admin key in plain text (it comes from the environment, never from Redis). At least 16
   * characters. Unset: the admin routes answer 403 `admin_disabled`.
   */
  adminKey?: string;
  /**
   * Base models tenants may fine-tune and query, by the name jobs record (`JobSpec.base_model`).
   * The merger serves one base model; every name here is sent to it as `base`. Default `['cola-tiny']`.
   */
  baseModels?: readonly string[];
  /**
   * Transformer blocks of the base model (its config.json `n_layer`), so a `target_modules` entry
   * naming a block it does not have is a 400 at create time. Null: not known here, and the
   * gpu-host refuses such a job when it starts it. Default null.
   */
  baseModelLayers?: number | null;
  /** Largest accepted upload in bytes (413 above). Default `LIMITS.uploadMaxBytes`. */
  uploadMaxBytes?: number;
  /** Largest JSON request body in bytes (413 above). Default 1 MiB. */
  bodyMaxBytes?: number;
  /**
   * Per-tenant fixed-window rate limit, counted in Redis so it holds across replicas; `false`
   * turns it off. Default 600 requests per 60 s.
   */
  rateLimit?: { limit: number; windowSeconds: number } | false;
  /** Deadline of one inference call to the merger in ms. Default 30 000. */
  inferenceTimeoutMs?: number;
  /** Deadline of the merger probe of `/readyz` in ms. Default 2000. */
  readinessTimeoutMs?: number;
  /** How often an SSE stream polls the job's events while it waits, in ms. Default 250. */
  eventsPollMs?: number;
  /** Interval of SSE heartbeat comments, which keep proxies from closing idle streams, in ms. Default 15 000. */
  heartbeatMs?: number;
  /**
   * The lowest level logged (JSON lines on stderr: Nest's own logs and one line per request, with
   * credentials redacted), or `silent` for none. Default `info`.
   */
  logLevel?: HostLogLevel | 'silent';
}

/** {@link GatewayOptions} with the defaults merged in and every value checked (same fields, same docs). */
export type ResolvedGatewayOptions = Required<Omit<GatewayOptions, 'adminKey'>> & Pick<GatewayOptions, 'adminKey'>;

/** Thrown by {@link resolveGatewayOptions}; lists every bad option at once. */
export class GatewayOptionsError extends Error {
  override readonly name = 'GatewayOptionsError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid gateway options (${problems.length}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** A base model name: like an id, plus '.' (`cola-tiny`, `gpt2.small`); never ':' (model names split on it). */
export const BASE_MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const DEFAULTS = {
  mergerAddress: '127.0.0.1:50051',
  baseModels: ['cola-tiny'],
  uploadMaxBytes: LIMITS.uploadMaxBytes,
  bodyMaxBytes: 1024 * 1024,
  rateLimit: { limit: 600, windowSeconds: 60 },
  inferenceTimeoutMs: 30_000,
  readinessTimeoutMs: 2000,
  eventsPollMs: 250,
  heartbeatMs: 15_000,
  logLevel: 'info',
} as const;

const positiveInt = (v: number): boolean => Number.isSafeInteger(v) && v > 0;

/** Merges the defaults once and checks every option, reporting all problems with their fix. */
export function resolveGatewayOptions(o: GatewayOptions): ResolvedGatewayOptions {
  const r: ResolvedGatewayOptions = {
    redisUrl: o.redisUrl,
    mergerAddress: o.mergerAddress ?? DEFAULTS.mergerAddress,
    adminKey: o.adminKey,
    baseModels: o.baseModels ?? DEFAULTS.baseModels,
    baseModelLayers: o.baseModelLayers ?? null,
    uploadMaxBytes: o.uploadMaxBytes ?? DEFAULTS.uploadMaxBytes,
    bodyMaxBytes: o.bodyMaxBytes ?? DEFAULTS.bodyMaxBytes,
    rateLimit: o.rateLimit ?? DEFAULTS.rateLimit,
    inferenceTimeoutMs: o.inferenceTimeoutMs ?? DEFAULTS.inferenceTimeoutMs,
    readinessTimeoutMs: o.readinessTimeoutMs ?? DEFAULTS.readinessTimeoutMs,
    eventsPollMs: o.eventsPollMs ?? DEFAULTS.eventsPollMs,
    heartbeatMs: o.heartbeatMs ?? DEFAULTS.heartbeatMs,
    logLevel: o.logLevel ?? DEFAULTS.logLevel,
  };
  const checks = new OptionChecks()
    .redisUrl('redisUrl', r.redisUrl)
    .check(
      /^[^\s:]+:\d{1,5}$/.test(r.mergerAddress),
      () => `mergerAddress ${JSON.stringify(r.mergerAddress)} must be host:port, e.g. 127.0.0.1:50051`,
    )
    .check(
      r.adminKey === undefined || r.adminKey.length >= 16,
      'adminKey must be at least 16 characters (use e.g. `openssl rand -hex 24`), or unset it to disable the admin routes',
    )
    .check(
      r.baseModelLayers === null || positiveInt(r.baseModelLayers),
      () => `baseModelLayers must be a positive integer (the base model's n_layer) or null, got ${r.baseModelLayers}`,
    )
    .check(r.baseModels.length > 0, 'baseModels must name at least one base model, e.g. ["cola-tiny"]');
  for (const m of r.baseModels)
    checks.check(
      BASE_MODEL_PATTERN.test(m) && m !== 'base',
      () => `base model name ${JSON.stringify(m)} is invalid: use letters, digits, '_', '-' and '.', and not the reserved name "base"`,
    );
  checks
    .int('uploadMaxBytes', r.uploadMaxBytes, { min: 1, max: LIMITS.uploadMaxBytes, unit: '(what the pipeline reads back)' })
    .int('bodyMaxBytes', r.bodyMaxBytes, { min: 1 })
    .check(
      r.rateLimit === false || (positiveInt(r.rateLimit.limit) && positiveInt(r.rateLimit.windowSeconds)),
      () => `rateLimit needs a positive integer limit and windowSeconds, got ${JSON.stringify(r.rateLimit)}; or pass false to turn it off`,
    );
  for (const k of ['inferenceTimeoutMs', 'readinessTimeoutMs', 'eventsPollMs', 'heartbeatMs'] as const)
    checks.int(k, r[k], { min: 1, unit: 'of milliseconds' });
  checks.throwIfAny((problems) => new GatewayOptionsError(problems));
  return r;
}
