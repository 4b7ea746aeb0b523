/**
 * Injection tokens. Services run through tsx (esbuild), which emits no `design:paramtypes`, so
 * every constructor parameter is injected by an explicit token (`@Inject(TOKEN)`), never by type.
 */

/** {@link ResolvedGatewayOptions}. */
export const GATEWAY_OPTIONS = Symbol('GATEWAY_OPTIONS');
/** The shared ioredis client for commands (fails fast when Redis is down). */
export const REDIS = Symbol('REDIS');
/** The pipeline's `JobStore` on {@link REDIS}. */
export const JOB_STORE = Symbol('JOB_STORE');
/** The BullMQ producer of `QUEUES.jobs`. */
export const JOBS_QUEUE = Symbol('JOBS_QUEUE');
/** The ioredis connection of {@link JOBS_QUEUE} (BullMQ needs `maxRetriesPerRequest: null`). */
export const JOBS_QUEUE_CONNECTION = Symbol('JOBS_QUEUE_CONNECTION');
/** The generated grpc-js `InferenceClient` of the merger. */
export const INFERENCE_CLIENT = Symbol('INFERENCE_CLIENT');
/** The prom-client registry of this app instance. */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
