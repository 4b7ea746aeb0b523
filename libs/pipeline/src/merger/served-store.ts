import type { Redis } from 'ioredis';
import { keys } from '@cola/config';
import { LuaScript } from '@cola/store';
import { servedMetaFromMetadata, type ServedMeta } from './served-deltas';

/**
 * Writes a served record unless the stored one is at the same or a newer version. The version is
 * read from the stored safetensors header (8-byte little-endian length, then JSON with
 * `__metadata__.version`), so the check and the write are one atomic step even with several
 * merger replicas handling events of one job out of order.
 */
const PUT_IF_NEWER = new LuaScript(`
local cur = redis.call('GETRANGE', KEYS[1], 0, 7)
if #cur == 8 then
  local n = struct.unpack('<I4', cur)
  local ok, h = pcall(cjson.decode, redis.call('GETRANGE', KEYS[1], 8, 7 + n))
  if ok and type(h) == 'table' and type(h['__metadata__']) == 'table' then
    local v = tonumber(h['__metadata__']['version'])
    if v and v >= tonumber(ARGV[2]) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1`);

/** Largest safetensors header we read back (a served record's header is a few KB). */
const MAX_HEADER_BYTES = 1 << 20;

/**
 * The served records in Redis: one safetensors blob per job at `keys.served(jobId)` (see
 * served-deltas.ts), plus the member sets of collaborative merge groups at `keys.mergeGroup`.
 */
export class ServedStore {
  /** @param redis a connected ioredis client; the caller owns it. */
  constructor(private readonly redis: Redis) {}

  /** Stores `bytes` (an encoded served record at `version`) unless a same or newer one is there. */
  async putIfNewer(jobId: string, version: number, bytes: Uint8Array): Promise<boolean> {
    const written = await PUT_IF_NEWER.run(
      this.redis,
      [keys.served(jobId)],
      [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), String(version)],
    );
    return written === 1;
  }

  /** The whole record, or null when the merger has served no version of the job yet. */
  async get(jobId: string): Promise<Uint8Array | null> {
    const b = await this.redis.getBuffer(keys.served(jobId));
    return b === null ? null : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }

  /** The record's meta only, read from its header (two small range reads, no tensor bytes). */
  async meta(jobId: string): Promise<ServedMeta | null> {
    const key = keys.served(jobId);
    const len = await this.redis.getrangeBuffer(key, 0, 7);
    if (len.byteLength < 8) return null;
    const n = Number(len.readBigUInt64LE(0));
    if (n > MAX_HEADER_BYTES) throw new Error(`served record of job ${jobId} claims a ${n}-byte header; it is not a served record`);
    const header = JSON.parse((await this.redis.getrangeBuffer(key, 8, 7 + n)).toString('utf8')) as {
      __metadata__?: Record<string, string>;
    };
    return servedMetaFromMetadata(header.__metadata__ ?? {}, `served record of job ${jobId}`);
  }

  /** The ids of every job with a served record (SCAN; for Status, not for hot paths). */
  async jobIds(): Promise<string[]> {
    // The pattern is derived from the key builder, so it follows any change of the key layout.
    const probe = keys.served('x');
    const prefix = probe.slice(0, -1);
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const k of batch) out.push(k.slice(prefix.length));
    } while (cursor !== '0');
    return out.sort();
  }

  /** Adds a job to its tenant's collaborative merge group (idempotent). */
  async join(tenantId: string, group: string, jobId: string): Promise<void> {
    await this.redis.sadd(keys.mergeGroup(tenantId, group), jobId);
  }

  /** The job ids of a tenant's merge group, sorted: never another tenant's, whatever it named its group. */
  async members(tenantId: string, group: string): Promise<string[]> {
    return (await this.redis.smembers(keys.mergeGroup(tenantId, group))).sort();
  }
}
