import { Global, Inject, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { credentials } from '@grpc/grpc-js';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { QUEUES, queueOptions } from '@cola/config';
import { JobStore, type JobsQueueData } from '@cola/pipeline';
import { InferenceClient } from '@cola/proto';
import type { ResolvedGatewayOptions } from './gateway-options';
import { GATEWAY_OPTIONS, INFERENCE_CLIENT, JOB_STORE, JOBS_QUEUE, JOBS_QUEUE_CONNECTION, METRICS_REGISTRY, REDIS } from './tokens';

const logger = new Logger('Redis');

/**
 * Logs connection errors instead of leaving them unhandled: while Redis is away the client
 * reconnects by itself, requests fail with 503 and /readyz reports it.
 */
function watched(redis: Redis): Redis {
  let down = false;
  redis.on('error', (e: Error) => {
    if (!down) logger.warn(`connection error: ${e.message}`);
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.log('connection restored');
    down = false;
  });
  return redis;
}

/** How long shutdown waits for a graceful QUIT before it drops a connection (Redis may be down). */
const CLOSE_TIMEOUT_MS = 2000;

/** Waits for `p` at most {@link CLOSE_TIMEOUT_MS}; shutdown must not hang on a dead dependency. */
async function atMost(p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)));
  await Promise.race([p.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

/** QUIT, or a hard disconnect when Redis does not answer in time. */
async function closeRedis(c: Redis): Promise<void> {
  await atMost(c.quit());
  c.disconnect();
}

/** Closes the connections the core module opened, after the HTTP server stopped taking requests. */
class CoreConnections implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(JOBS_QUEUE) private readonly queue: Queue<JobsQueueData>,
    @Inject(JOBS_QUEUE_CONNECTION) private readonly queueConnection: Redis,
    @Inject(INFERENCE_CLIENT) private readonly inference: InferenceClient,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    this.inference.close();
    // The queue's connection was passed in, so BullMQ leaves it open on close(): it is closed
    // here, first, so that a queue waiting for an unreachable Redis gives up at once.
    await closeRedis(this.queueConnection);
    await atMost(this.queue.close());
    await closeRedis(this.redis);
    logger.log('shut down: HTTP server, event streams, Redis and gRPC connections closed');
  }
}

/**
 * The gateway's shared infrastructure: options, one Redis client, the job store, the `jobs`
 * queue producer, the merger's gRPC client and the metrics registry. Global, so feature modules
 * inject these by token without importing it.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(options: ResolvedGatewayOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: GATEWAY_OPTIONS, useValue: options },
        {
          provide: REDIS,
          // One retry per command: an HTTP request should fail fast (and /readyz go red) while
          // Redis is away, not hang until the client's default 20 retries are spent.
          useFactory: () => watched(new Redis(options.redisUrl, { maxRetriesPerRequest: 1, connectionName: 'cola-gateway' })),
        },
        { provide: JOB_STORE, useFactory: (redis: Redis) => new JobStore(redis), inject: [REDIS] },
        {
          provide: JOBS_QUEUE_CONNECTION,
          // BullMQ wants its own connection, with unlimited retries on blocking commands.
          useFactory: () => watched(new Redis(options.redisUrl, { maxRetriesPerRequest: null, connectionName: 'cola-gateway-jobs' })),
        },
        {
          provide: JOBS_QUEUE,
          useFactory: (connection: Redis) => {
            const queue = new Queue<JobsQueueData>(QUEUES.jobs, { connection, ...queueOptions(QUEUES.jobs) });
            queue.on('error', (e) => logger.warn(`jobs queue: ${e.message}`));
            return queue;
          },
          inject: [JOBS_QUEUE_CONNECTION],
        },
        { provide: INFERENCE_CLIENT, useFactory: () => new InferenceClient(options.mergerAddress, credentials.createInsecure()) },
        {
          provide: METRICS_REGISTRY,
          useFactory: () => {
            // A registry per app (not prom-client's global one), so several apps in one test process do not clash.
            const registry = new Registry();
            collectDefaultMetrics({ register: registry });
            return registry;
          },
        },
        CoreConnections,
      ],
      exports: [GATEWAY_OPTIONS, REDIS, JOB_STORE, JOBS_QUEUE, INFERENCE_CLIENT, METRICS_REGISTRY],
    };
  }
}
