/** What the scheduler needs to know of a job. */
export interface Schedulable {
  readonly jobId: string;
  /** Can take a batch now. */
  readonly ready: boolean;
  /** Jobs with equal keys may share a mixed batch (same head and sequence length). */
  readonly packKey: string;
}

/**
 * Picks the jobs of the next host step, fairly. The first ready job after the previous pick's
 * leader (in registration order, wrapping around) leads; ready jobs with the same pack key join
 * it, again in round-robin order, up to `maxTenants`. The leader pointer then moves past the
 * leader, so every ready job leads within one round and none is starved by busier neighbours.
 */
export class RoundRobinScheduler<J extends Schedulable> {
  private readonly order: J[] = [];
  private cursor = 0;

  constructor(private readonly maxTenants: number) {
    if (!Number.isInteger(maxTenants) || maxTenants < 1)
      throw new RangeError(`RoundRobinScheduler: maxTenants must be an integer >= 1, got ${maxTenants}`);
  }

  /** Jobs in registration order. */
  get jobs(): readonly J[] {
    return this.order;
  }

  add(job: J): void {
    if (this.order.some((j) => j.jobId === job.jobId)) throw new Error(`job ${job.jobId} is already scheduled`);
    this.order.push(job);
  }

  remove(jobId: string): void {
    const i = this.order.findIndex((j) => j.jobId === jobId);
    if (i < 0) return;
    this.order.splice(i, 1);
    // Keep pointing at the job that was next in line.
    if (i < this.cursor) this.cursor--;
    if (this.cursor >= this.order.length) this.cursor = 0;
  }

  /** The jobs of the next step (leader first), or [] when no job is ready. */
  pick(): J[] {
    const n = this.order.length;
    for (let k = 0; k < n; k++) {
      const i = (this.cursor + k) % n;
      const lead = this.order[i]!;
      if (!lead.ready) continue;
      const group = [lead];
      for (let m = 1; m < n && group.length < this.maxTenants; m++) {
        const j = this.order[(i + m) % n]!;
        if (j.ready && j.packKey === lead.packKey) group.push(j);
      }
      this.cursor = (i + 1) % n;
      return group;
    }
    return [];
  }
}
