import { EventEmitter } from 'node:events';
import { disposeDeltas } from '@cola/gl';
import { AuxStateMissingError, type AuxStateStore } from '@cola/store';
import type { JobStore } from '../jobs/job-store';
import { decodeJobAuxState } from '../state/job-aux-state';
import type { AuxPublishedData } from '../queues/aux-published-data';
import { encodeServedRecord } from './served-deltas';
import type { ServedStore } from './served-store';

/** What handling one "aux published" event did. */
export interface ServedUpdate {
  jobId: string;
  /** The version of the event. */
  version: number;
  /**
   * `served`: the record now reflects `version`. `stale`: a same or newer version was served
   * already (events of one job may arrive out of order or twice). `gone`: the job no longer
   * exists.
   */
  status: 'served' | 'stale' | 'gone';
  /** Whether the aux folds into the weights (deltas stored) or is injected (mlp). */
  mergeable: boolean;
  /** The job's collaborative merge group, '' when alone. */
  mergeGroup: string;
}

/** Typed events of {@link ServedDeltasUpdater}. */
export interface ServedDeltasUpdaterEvents {
  /** An event was handled. */
  updated: [update: ServedUpdate];
}

/** Collaborators of {@link ServedDeltasUpdater}. */
export interface ServedDeltasUpdaterDeps {
  /** The versioned aux states (read params only). */
  aux: Pick<AuxStateStore, 'head' | 'load'>;
  /** Where the served records go. */
  served: ServedStore;
  /** The job records (for the spec's merge group and base model). */
  jobs: Pick<JobStore, 'get'>;
}

/**
 * The merger's consumer of "aux published" (docs/pipeline.md, "The merger"): loads the version
 * (params only; the optimizer slots never leave the trainers) and refreshes the job's served
 * record at `keys.served(jobId)`: the deltas dW, db per tap for mergeable aux, the version alone
 * for mlp aux (served by injection). A job of a merge group also joins the group's member set;
 * the group's mean delta is derived from the members' records when a member is served.
 *
 * Idempotent and order-tolerant: a record is only ever replaced by a newer version.
 */
export class ServedDeltasUpdater extends EventEmitter<ServedDeltasUpdaterEvents> {
  constructor(private readonly deps: ServedDeltasUpdaterDeps) {
    super();
  }

  async apply(event: AuxPublishedData): Promise<ServedUpdate> {
    const { jobId, version } = event;
    const record = await this.deps.jobs.get(jobId);
    const mergeGroup = record?.spec.method?.mergeGroup ?? '';
    const base: Omit<ServedUpdate, 'status'> = { jobId, version, mergeable: event.mergeable, mergeGroup };
    if (!record) return this.done({ ...base, status: 'gone' });
    const current = await this.deps.served.meta(jobId);
    if (current && current.version >= version) return this.done({ ...base, status: 'stale' });

    let bytes: Uint8Array;
    try {
      bytes = await this.deps.aux.load(jobId, version);
    } catch (e) {
      // A superseded version may have expired; the newer one's own event brings it.
      if (e instanceof AuxStateMissingError && e.head !== null && e.head > version) return this.done({ ...base, status: 'stale' });
      throw e;
    }
    const state = decodeJobAuxState(bytes, { paramsOnly: true });
    let encoded: Uint8Array;
    let mergeable: boolean;
    try {
      mergeable = state.adapters.mergeable;
      const deltas = mergeable ? state.adapters.deltas() : new Map();
      try {
        encoded = encodeServedRecord(
          {
            jobId,
            tenantId: record.spec.tenantId,
            baseModel: record.spec.baseModel,
            version,
            mergeable,
            mergeGroup,
            updatedAtMs: Date.now(),
          },
          deltas,
        );
      } finally {
        disposeDeltas(deltas);
      }
    } finally {
      state.adapters.dispose();
    }
    if (mergeGroup) await this.deps.served.join(record.spec.tenantId, mergeGroup, jobId);
    const written = await this.deps.served.putIfNewer(jobId, version, encoded);
    return this.done({ ...base, mergeable, status: written ? 'served' : 'stale' });
  }

  private done(u: ServedUpdate): ServedUpdate {
    this.emit('updated', u);
    return u;
  }
}
