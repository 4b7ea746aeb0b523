/** An aux state version (or a job's whole aux state) is not in Redis. */
export class AuxStateMissingError extends Error {
  override readonly name = 'AuxStateMissingError';
  constructor(
    readonly jobId: string,
    /** The version asked for; `null` when the job has no aux state at all. */
    readonly version: number | null,
    /** The job's head version at the time of the failure; `null` when it has none. */
    readonly head: number | null,
  ) {
    super(
      head === null
        ? `job ${jobId} has no aux state: call AuxStateStore.init() with version 0 first`
        : `aux state version ${version} of job ${jobId} is gone (head is ${head}): superseded versions ` +
            'expire; load the head version instead',
    );
  }
}
