import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Request, Response } from 'express';
import { FINAL_STATUSES, JobStore } from '@cola/pipeline';
import type { ResolvedGatewayOptions } from '../core/gateway-options';
import { GATEWAY_OPTIONS, JOB_STORE } from '../core/tokens';
import { eventView } from './job-view';

/** Events read per poll; a backlog is drained in pages of this size without waiting. */
const PAGE = 100;

/**
 * Server-sent events of a job: first the events after the cursor, then new ones as the gpu-host
 * and the trainers append them, until the job reaches a final status. Each event is
 * `id: <event id>` + `data: <event JSON>`, so a client that reconnects with `Last-Event-ID`
 * resumes exactly; the end is `event: done` with the final status. The stream polls the job's
 * Redis stream (no blocking read per client, so a connection costs no Redis connection), sends
 * heartbeat comments for proxies, and is ended on shutdown so the server can close.
 */
@Injectable()
export class JobEventStreamService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('JobEventStream');
  /** Open streams: how to stop each, and when it has ended. */
  private readonly open = new Map<() => void, Promise<void>>();

  constructor(
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(GATEWAY_OPTIONS) private readonly options: ResolvedGatewayOptions,
  ) {}

  /** Streams the events of `jobId` (already authorised) after the stream id `after`. */
  stream(jobId: string, after: string | undefined, req: Request, res: Response): Promise<void> {
    let stop: () => void = () => undefined;
    const done = this.run(jobId, after, req, res, (s) => (stop = s)).finally(() => this.open.delete(stop));
    this.open.set(stop, done);
    return done;
  }

  private async run(
    jobId: string,
    after: string | undefined,
    req: Request,
    res: Response,
    onStop: (stop: () => void) => void,
  ): Promise<void> {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    // The socket closes with the stream: a stream ended by a shutdown must not linger as an idle
    // keep-alive connection that holds the server open.
    res.setHeader('Connection', 'close');
    // nginx and friends buffer responses unless told not to.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();

    let closed = false;
    let wake: (() => void) | undefined;
    const stop = (): void => {
      closed = true;
      wake?.();
    };
    req.on('close', stop);
    onStop(stop);
    const sleep = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        const t = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });

    let cursor = after;
    let lastWrite = Date.now();
    let finalSeen = false;
    try {
      while (!closed) {
        const rows = await this.store.events(jobId, { after: cursor, limit: PAGE });
        for (const e of rows) {
          const view = eventView(e);
          res.write(`id: ${view.id}\ndata: ${JSON.stringify(view)}\n\n`);
          cursor = e.id;
          lastWrite = Date.now();
        }
        if (rows.length === PAGE) continue;
        if (finalSeen) {
          const status = await this.store.status(jobId);
          res.write(`event: done\ndata: ${JSON.stringify({ status })}\n\n`);
          break;
        }
        const status = await this.store.status(jobId);
        // A service may append its last event just after setting the final status: read once more.
        if (status === null || FINAL_STATUSES.has(status)) finalSeen = true;
        if (Date.now() - lastWrite >= this.options.heartbeatMs) {
          res.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        await sleep(this.options.eventsPollMs);
      }
    } catch (e) {
      // Headers are sent: the only thing left to do is to log and end the stream.
      this.logger.warn(`event stream of ${jobId} failed: ${(e as Error).message}`);
    } finally {
      req.off('close', stop);
      res.end();
    }
  }

  /** Ends every open stream and waits for them, so that the HTTP server can close (SIGTERM). */
  async beforeApplicationShutdown(): Promise<void> {
    const ending = [...this.open.values()];
    for (const stop of this.open.keys()) stop();
    await Promise.allSettled(ending);
  }
}
