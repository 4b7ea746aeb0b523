import type { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { ColaMetrics } from '@cola/metrics';
import type { GptModel } from '@cola/model';
import type { CheckpointStore, PayloadRepublishStore } from '@cola/store';
import type { JobStore } from '../jobs/job-store';
import type { ClassifierHeads } from './classifier-heads';
import type { FitTaskPublisher } from './fit-task-publisher';
import type { HostServiceEvents, JobEnd } from './host-events';
import type { HostJob } from './host-job';
import type { HostMemoryBudget } from './host-memory-budget';
import type { ResolvedHostServiceOptions } from './host-service-options';
import type { RoundRobinScheduler } from './round-robin-scheduler';
import type { HostAuxStore, HostPayloadStore } from './stores';

/** A job registered on this host. */
export interface ActiveEntry {
  job: HostJob;
  resolve: (end: JobEnd) => void;
  /** Settles when the job leaves the host. */
  ended: Promise<JobEnd>;
  /** Serialises aux reloads of the job. */
  auxChain: Promise<void>;
  lastEventStep: number;
}

/** The connections and stores the host opens in `start()`. */
export interface HostConnections {
  redis: Redis;
  jobStore: JobStore;
  payloads: HostPayloadStore;
  auxStore: HostAuxStore;
  checkpoints: CheckpointStore;
  /** Re-publication requests of expired payloads (trainers ask, the host answers). */
  republish: PayloadRepublishStore;
  publisher: FitTaskPublisher;
}

/**
 * Wakes the scheduler loop out of an idle wait: a new job, a new aux version or a resume should
 * not wait out the poll interval.
 */
export class LoopSignal {
  private wakeUp: (() => void) | undefined;

  /** Ends the current {@link idle} wait, if any. */
  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /** Waits `ms`, or until {@link wake}. */
  idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/**
 * What every part of the gpu-host shares: the options, the model, the registered jobs, the
 * scheduler, the classifier heads, the metrics, the events and (once started) the connections.
 * One object, so the parts (intake, opening, scheduling, stepping, publishing, aux versions,
 * lifecycle) each stay small and none holds a second copy of the state.
 */
export class HostContext {
  readonly active = new Map<string, ActiveEntry>();
  readonly signal = new LoopSignal();
  closing = false;
  paused = false;
  /** Why the compute backend is unusable (it aborted); the host then takes no job and must exit. */
  fatal: string | undefined;
  private io: HostConnections | undefined;

  constructor(
    readonly opts: ResolvedHostServiceOptions,
    readonly model: GptModel,
    readonly scheduler: RoundRobinScheduler<HostJob>,
    readonly heads: ClassifierHeads,
    readonly metrics: ColaMetrics,
    readonly budget: HostMemoryBudget,
    readonly events: EventEmitter<HostServiceEvents>,
  ) {}

  /** The connections; throws before `start()`. */
  get conn(): HostConnections {
    if (!this.io) throw new Error('HostService not started');
    return this.io;
  }

  /** Sets the connections opened by `start()`. */
  connect(io: HostConnections): void {
    this.io = io;
  }

  /** Wakes the scheduler loop. */
  wake(): void {
    this.signal.wake();
  }
}
