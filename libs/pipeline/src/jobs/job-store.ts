import type { Redis } from 'ioredis';
import { keys, LIMITS } from '@cola/config';
import { decodeMessage, encodeMessage, JobSpec } from '@cola/proto';
import { NewestFirstIndex } from '@cola/store';
import { FINAL_STATUSES, type JobError, type JobStatus } from './job-status';
import { allowedFrom, INITIAL_STATUSES, isJobStatus, type JobActor } from './job-lifecycle';

/** A job record as stored at `keys.job(jobId)`. */
export interface JobRecord {
  jobId: string;
  spec: JobSpec;
  status: JobStatus;
  error: JobError | null;
  /** Milliseconds since the epoch. */
  createdAt: number;
  finishedAt: number | null;
  /** What the job runs with once the gpu-host resolved its `auto` values; null until it opened the job. */
  resolved: JobResolved | null;
}

/**
 * The values a job really runs with, stored by the gpu-host when it opens the job: its `auto`
 * hyperparameters chosen from the training file, and how much of that file the windows leave out.
 */
export interface JobResolved {
  lr: number;
  epochs: number;
  batchSize: number;
  maxLength: number;
  /** Windows per classification input (1 for causal LM). */
  maxWindows: number;
  /** Share of the training file's tokens beyond max_length x max_windows, dropped (0 for causal LM, which packs every token). */
  droppedShare: number;
}

/** Progress the gpu-host checkpoints at `keys.jobProgress(jobId)`. */
export interface JobProgress {
  /** Host batches done. */
  step: number;
  /** Total host batches of the job. */
  totalSteps: number;
  epoch: number;
  /** Latest aux version the host has picked up. */
  auxVersion: number;
  /** Fit tasks published (the next seq). */
  seq: number;
  tokens: number;
  /** Loss of the latest batch. */
  loss: number;
  /** Adaptation payload bytes written so far. */
  bytes: number;
}

/** One entry of a job's event stream. */
export interface JobEventEntry {
  /** Stream id (`<ms>-<n>`), the pagination cursor. */
  id: string;
  level: 'info' | 'warn' | 'error';
  message: string;
  createdAt: number;
  metrics?: Partial<Pick<JobProgress, 'step' | 'loss' | 'tokens' | 'bytes'>> & {
    /** A validation score at `step`, in the job's metric (accuracy or perplexity). */
    validation?: number;
  };
}

/**
 * Validation result of a job: `before` (the starting model) is stored when training starts,
 * `value` (the final model) when it ends; both in `metric`. `value` is null until then.
 */
export interface JobEval {
  metric: 'accuracy' | 'perplexity';
  value: number | null;
  count: number;
  before?: number | null;
}

/** What {@link JobStore.transition} did. */
export interface TransitionResult {
  /** Whether the status moved. */
  changed: boolean;
  /** The status found before the move (null: no such job). */
  from: JobStatus | null;
}

/**
 * The one guarded status write. ARGV: the new status, the error JSON or '', finished_at or '',
 * then every status the move is allowed from (taken from JOB_TRANSITIONS, never spelled here).
 */
const TRANSITION = `local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {0, ''} end
local ok = false
for i = 4, #ARGV do if cur == ARGV[i] then ok = true end end
if not ok then return {0, cur} end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'finished_at', ARGV[3]) end
return {1, cur}`;

/**
 * The job record, progress, events and result in Redis: the one place every service reads and
 * writes a job's lifecycle, so the gateway, the gpu-host and the trainers agree on it.
 */
export class JobStore {
  /** Each tenant's job ids, newest first (`keys.tenantJobs`): what the gateway lists. */
  readonly byTenant: NewestFirstIndex;

  constructor(private readonly redis: Redis) {
    this.byTenant = new NewestFirstIndex(redis, keys.tenantJobs);
  }

  /** Creates the record; refuses to overwrite an existing job. */
  async create(spec: JobSpec, status: JobStatus = 'queued'): Promise<void> {
    if (!INITIAL_STATUSES.includes(status)) throw new RangeError(`a job cannot be created ${status}; use ${INITIAL_STATUSES.join(' or ')}`);
    const ok = await this.redis.hsetnx(keys.job(spec.jobId), 'status', status);
    if (!ok) throw new Error(`job ${spec.jobId} already exists`);
    await this.redis.hset(keys.job(spec.jobId), { spec: encodeMessage(JobSpec, spec), created_at: Date.now().toString() });
  }

  async get(jobId: string): Promise<JobRecord | null> {
    const h = await this.redis.hgetallBuffer(keys.job(jobId));
    if (!h.spec || !h.status) return null;
    const status = h.status.toString();
    if (!isJobStatus(status)) throw new Error(`job ${jobId} has an unknown status "${status}"`);
    return {
      jobId,
      spec: decodeMessage(JobSpec, 'JobSpec', h.spec),
      status,
      error: h.error ? (JSON.parse(h.error.toString()) as JobError) : null,
      createdAt: Number(h.created_at?.toString() ?? 0),
      finishedAt: h.finished_at ? Number(h.finished_at.toString()) : null,
      resolved: h.resolved ? (JSON.parse(h.resolved.toString()) as JobResolved) : null,
    };
  }

  /** Records the values the job runs with (the gpu-host, on every open: the same values each time). */
  async setResolved(jobId: string, r: JobResolved): Promise<void> {
    // Only onto an existing record: a job deleted meanwhile must not get a half record.
    if (await this.redis.exists(keys.job(jobId))) await this.redis.hset(keys.job(jobId), 'resolved', JSON.stringify(r));
  }

  async status(jobId: string): Promise<JobStatus | null> {
    const s = await this.redis.hget(keys.job(jobId), 'status');
    return isJobStatus(s) ? s : null;
  }

  /**
   * Moves a job to `to` if JOB_TRANSITIONS lets `by` make that move from its current status,
   * atomically (read and write in one Lua script). A refused move changes nothing and says what
   * status it found, e.g. a late `running` from a slow host never resurrects a cancelled job.
   */
  async transition(jobId: string, to: JobStatus, by: JobActor, error?: JobError): Promise<TransitionResult> {
    const from = allowedFrom(to, by);
    if (from.length === 0) throw new RangeError(`${by} may never move a job to ${to}`);
    const [changed, found] = (await this.redis.eval(
      TRANSITION,
      1,
      keys.job(jobId),
      to,
      error ? JSON.stringify(error) : '',
      FINAL_STATUSES.has(to) ? Date.now().toString() : '',
      ...from,
    )) as [number, string];
    return { changed: changed === 1, from: isJobStatus(found) ? found : null };
  }

  /**
   * Ends a job the way its service saw it end, except that a cancel the tenant already asked for
   * wins: a job in `cancelling` ends `cancelled`, whatever `to` was. Returns the final status
   * reached, or null when the job was already final (or gone) and nothing was written.
   */
  async finish(jobId: string, to: 'succeeded' | 'failed' | 'cancelled', by: JobActor, error?: JobError): Promise<JobStatus | null> {
    const first = await this.transition(jobId, to, by, to === 'failed' ? error : undefined);
    if (first.changed) return to;
    if (first.from === 'cancelling' && by === 'gpu-host' && (await this.transition(jobId, 'cancelled', by)).changed) return 'cancelled';
    return null;
  }

  /**
   * Ends a job `failed` by `by` (through {@link finish}, so a cancel already asked for wins) and,
   * when this call is what ended it, records why as an error event: the tenant reads the reason in
   * the job's events as well as in its error. Returns the final status reached, or null.
   */
  async fail(jobId: string, by: JobActor, error: JobError, event = `Job failed: ${error.message}`): Promise<JobStatus | null> {
    const ended = await this.finish(jobId, 'failed', by, error);
    if (ended === 'failed') await this.appendEvent(jobId, { level: 'error', message: event });
    return ended;
  }

  async setProgress(jobId: string, p: Partial<JobProgress>): Promise<void> {
    const fields = Object.entries(p)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]);
    if (fields.length) await this.redis.hset(keys.jobProgress(jobId), Object.fromEntries(fields));
  }

  async progress(jobId: string): Promise<JobProgress | null> {
    const h = await this.redis.hgetall(keys.jobProgress(jobId));
    if (!h.step) return null;
    const n = (k: string) => Number(h[k] ?? 0);
    return {
      step: n('step'),
      totalSteps: n('totalSteps'),
      epoch: n('epoch'),
      auxVersion: n('auxVersion'),
      seq: n('seq'),
      tokens: n('tokens'),
      loss: n('loss'),
      bytes: n('bytes'),
    };
  }

  /**
   * Appends to the job's event stream, capped at about LIMITS.jobEventsMaxLen entries. Returns the
   * event id, or '' when the job record is gone (the event has no one to belong to).
   */
  async appendEvent(jobId: string, e: Omit<JobEventEntry, 'id' | 'createdAt'>): Promise<string> {
    const fields: string[] = ['level', e.level, 'message', e.message];
    for (const [k, v] of Object.entries(e.metrics ?? {})) if (v !== undefined) fields.push(k, String(v));
    // The record and the stream sit in different cluster slots, so this is two calls, not a script.
    if (!(await this.redis.exists(keys.job(jobId)))) return '';
    return (await this.redis.xadd(keys.jobEvents(jobId), 'MAXLEN', '~', LIMITS.jobEventsMaxLen, '*', ...fields)) as string;
  }

  /** Events after the cursor `after` (exclusive), oldest first. */
  async events(jobId: string, opts: { after?: string; limit?: number } = {}): Promise<JobEventEntry[]> {
    const start = opts.after ? `(${opts.after}` : '-';
    const rows = await this.redis.xrange(keys.jobEvents(jobId), start, '+', 'COUNT', opts.limit ?? 100);
    return rows.map(([id, flat]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
      const metrics: JobEventEntry['metrics'] = {};
      for (const k of ['step', 'loss', 'tokens', 'bytes', 'validation'] as const) if (f[k] !== undefined) metrics[k] = Number(f[k]);
      return {
        id,
        level: (f.level ?? 'info') as JobEventEntry['level'],
        message: f.message ?? '',
        createdAt: Number(id.split('-')[0]),
        metrics,
      };
    });
  }

  /** Stores the final score; a `before` stored earlier stays. */
  async setEval(jobId: string, r: { metric: JobEval['metric']; value: number; count: number }): Promise<void> {
    await this.redis.hset(keys.jobEval(jobId), { metric: r.metric, value: String(r.value), count: String(r.count) });
  }

  /** Stores the starting model's score, before training. */
  async setEvalBefore(jobId: string, r: { metric: JobEval['metric']; value: number; count: number }): Promise<void> {
    await this.redis.hset(keys.jobEval(jobId), { metric: r.metric, before: String(r.value), count: String(r.count) });
  }

  async eval(jobId: string): Promise<JobEval | null> {
    const h = await this.redis.hgetall(keys.jobEval(jobId));
    if (!h.metric) return null;
    return {
      metric: h.metric as JobEval['metric'],
      value: h.value !== undefined ? Number(h.value) : null,
      count: Number(h.count),
      before: h.before !== undefined ? Number(h.before) : null,
    };
  }
}
