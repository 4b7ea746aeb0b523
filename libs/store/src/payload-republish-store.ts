import type { Redis } from 'ioredis';
import { TTLS, assertId, assertIndex, keys } from '@cola/config';
import { LuaScript } from './lua-script';
import type { StoredPayload } from './tensor-store';

/** An aux-trainer's request: publish fit task `seq` again, its payload expired unread. */
export interface RepublishRequest {
  seq: number;
  /** The aux version the original payload was computed with (the task's `auxVersion`). */
  auxVersion: number;
  /** 1 for the first re-publication, n + 1 when attempt n expired unread too. */
  attempt: number;
  /** When the request was made (ms since the epoch): how long the task has waited for it. */
  requestedAtMs: number;
}

/** The gpu-host's answer: where the payload of fit task `seq` is now. */
export interface RepublishedPayload extends StoredPayload {
  seq: number;
  /** The aux version the new payload was computed with (the original's when it was still stored). */
  auxVersion: number;
  attempt: number;
}

/** One fit task's re-publication: asked for, or answered. */
export type RepublishEntry =
  ({ state: 'requested' } & RepublishRequest) | ({ state: 'published'; requestedAtMs: number } & RepublishedPayload);

/**
 * KEYS: the job's hash. ARGV: seq, entry JSON, attempt, TTL. Writes a request unless one for
 * this attempt or a later one is there: two trainers that find the same payload gone ask once,
 * and a late request never overwrites the answer to it.
 */
const REQUEST = new LuaScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local e = cjson.decode(cur)
  if tonumber(e.attempt) >= tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
`);

/** KEYS: the job's hash. ARGV: seq, entry JSON, attempt, TTL. Answers the request of that attempt only. */
const PUBLISH = new LuaScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local e = cjson.decode(cur)
if e.state ~= 'requested' or tonumber(e.attempt) ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
`);

/**
 * Re-publication of expired payloads (claim-check payloads have a TTL; a backlog can outlive it):
 * one hash per job, field = fit task seq. An aux-trainer that finds a payload gone
 * {@link request}s it; the gpu-host that holds the job recomputes the task's batches from its data
 * and {@link publish}es the new reference; the trainer reads it with {@link get} and
 * {@link clear}s the entry once the task is applied. Entries expire with the payload TTL.
 */
export class PayloadRepublishStore {
  private readonly ttlSeconds: number;

  /** @param redis a connected ioredis client; the caller owns its lifecycle. */
  constructor(
    private readonly redis: Redis,
    opts: { ttlSeconds?: number } = {},
  ) {
    this.ttlSeconds = opts.ttlSeconds ?? TTLS.payloadSeconds;
    if (!Number.isSafeInteger(this.ttlSeconds) || this.ttlSeconds < 1)
      throw new RangeError(`PayloadRepublishStore: ttlSeconds must be a positive whole number (got ${this.ttlSeconds})`);
  }

  /** Asks for fit task `seq` again; returns false when this attempt (or a later one) was asked for already. */
  async request(jobId: string, r: RepublishRequest): Promise<boolean> {
    const entry: RepublishEntry = { state: 'requested', ...r };
    return (await this.write(REQUEST, jobId, r.seq, r.attempt, entry)) === 1;
  }

  /** Answers the request of `p.attempt` with the new reference; false when there is no such open request. */
  async publish(jobId: string, p: RepublishedPayload, requestedAtMs: number): Promise<boolean> {
    const entry: RepublishEntry = { state: 'published', requestedAtMs, ...p };
    return (await this.write(PUBLISH, jobId, p.seq, p.attempt, entry)) === 1;
  }

  /** The entry of fit task `seq`, or null. */
  async get(jobId: string, seq: number): Promise<RepublishEntry | null> {
    const raw = await this.redis.hget(keys.payloadRepublish(jobId), String(assertIndex('seq', seq)));
    return raw === null ? null : parseEntry(raw);
  }

  /** The requests no gpu-host has answered yet, by seq. */
  async pending(jobId: string): Promise<RepublishRequest[]> {
    const all = await this.redis.hvals(keys.payloadRepublish(jobId));
    const open: RepublishRequest[] = [];
    for (const raw of all) {
      const e = parseEntry(raw);
      if (e?.state === 'requested') open.push({ seq: e.seq, auxVersion: e.auxVersion, attempt: e.attempt, requestedAtMs: e.requestedAtMs });
    }
    return open.sort((a, b) => a.seq - b.seq);
  }

  /** Forgets fit task `seq` (it was applied). */
  async clear(jobId: string, seq: number): Promise<void> {
    await this.redis.hdel(keys.payloadRepublish(jobId), String(assertIndex('seq', seq)));
  }

  /** Forgets every entry of a job (it ended). */
  async delete(jobId: string): Promise<void> {
    await this.redis.unlink(keys.payloadRepublish(jobId));
  }

  private async write(script: LuaScript, jobId: string, seq: number, attempt: number, entry: RepublishEntry): Promise<unknown> {
    assertId('jobId', jobId);
    assertIndex('seq', seq);
    if (!Number.isSafeInteger(attempt) || attempt < 1)
      throw new RangeError(`PayloadRepublishStore: attempt must be an integer >= 1 (got ${attempt})`);
    return script.run(this.redis, [keys.payloadRepublish(jobId)], [String(seq), JSON.stringify(entry), attempt, this.ttlSeconds]);
  }
}

/** A stored entry, or null when it is not one (written by something else): ignored, never trusted. */
function parseEntry(raw: string): RepublishEntry | null {
  try {
    const e = JSON.parse(raw) as RepublishEntry;
    const ints = [e.seq, e.auxVersion, e.attempt, e.requestedAtMs];
    if (!ints.every((n) => Number.isSafeInteger(n) && n >= 0)) return null;
    if (e.state === 'requested') return e;
    if (e.state === 'published' && typeof e.key === 'string' && typeof e.sha256 === 'string' && Number.isSafeInteger(e.size)) return e;
    return null;
  } catch {
    return null;
  }
}
