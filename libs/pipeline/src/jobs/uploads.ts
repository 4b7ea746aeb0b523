import type { Redis } from 'ioredis';
import { keys, LIMITS } from '@cola/config';
import { parseJsonl, type JsonlDataset } from '@cola/data';
import { NewestFirstIndex } from '@cola/store';

/**
 * Stores a tenant's JSONL upload (validated first, so a stored file always parses; nothing is
 * written for one that does not). The meta hash gets `bytes`, `rows`, `kind` and `labels` (the
 * JSON list of a classification file's distinct labels, else `[]`) beside the given fields.
 */
export async function putUpload(redis: Redis, fileId: string, body: Uint8Array, meta: Record<string, string> = {}): Promise<JsonlDataset> {
  const dataset = parseJsonl(body, { maxBytes: LIMITS.uploadMaxBytes });
  await redis.set(keys.upload(fileId), Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  await redis.hset(keys.uploadMeta(fileId), {
    bytes: String(body.byteLength),
    rows: String(dataset.rows.length),
    kind: dataset.kind,
    labels: JSON.stringify(dataset.kind === 'classification' ? dataset.labels.map(String) : []),
    ...meta,
  });
  return dataset;
}

/** Reads and parses an upload; a missing file is a clear error naming it. */
export async function readUpload(redis: Redis, fileId: string): Promise<JsonlDataset> {
  const body = await redis.getBuffer(keys.upload(fileId));
  if (!body) throw new Error(`file ${fileId} does not exist (deleted, or never uploaded)`);
  return parseJsonl(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), { maxBytes: LIMITS.uploadMaxBytes });
}

/** Who uploaded a file and how, as the gateway records it. */
export interface UploadOwner {
  tenantId: string;
  /** The name the client gave the file. */
  filename: string;
  purpose: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
}

/** A stored upload's record: its owner and what parsing it found. */
export interface UploadRecord extends UploadOwner {
  bytes: number;
  rows: number;
  kind: JsonlDataset['kind'];
  /** A classification file's distinct labels as strings; empty for completion files. */
  labels: string[];
}

/**
 * Tenants' uploads in Redis (`keys.upload`, `keys.uploadMeta`, `keys.tenantUploads`): the one
 * typed place the gateway stores, lists, reads and deletes them; the gpu-host reads them with
 * {@link readUpload}.
 */
export class UploadStore {
  /** Each tenant's file ids, newest first. */
  readonly byTenant: NewestFirstIndex;

  constructor(private readonly redis: Redis) {
    this.byTenant = new NewestFirstIndex(redis, keys.tenantUploads);
  }

  /** Parses and stores the file with its record, then lists it for its tenant; throws the parse error otherwise. */
  async put(fileId: string, body: Uint8Array, owner: UploadOwner): Promise<JsonlDataset> {
    const dataset = await putUpload(this.redis, fileId, body, {
      tenant_id: owner.tenantId,
      filename: owner.filename,
      purpose: owner.purpose,
      created_at: String(owner.createdAt),
      sha256: owner.sha256,
    });
    await this.byTenant.add(owner.tenantId, fileId, owner.createdAt);
    return dataset;
  }

  /** The file's record, or null when there is no such file. */
  async record(fileId: string): Promise<UploadRecord | null> {
    const m = await this.redis.hgetall(keys.uploadMeta(fileId));
    if (m.tenant_id === undefined) return null;
    return {
      tenantId: m.tenant_id,
      filename: m.filename ?? '',
      purpose: m.purpose ?? 'fine-tune',
      createdAt: Number(m.created_at),
      sha256: m.sha256 ?? '',
      bytes: Number(m.bytes),
      rows: Number(m.rows),
      kind: m.kind === 'completion' ? 'completion' : 'classification',
      labels: m.kind === 'classification' ? (JSON.parse(m.labels ?? '[]') as string[]) : [],
    };
  }

  /** The file's bytes, or null when it is gone. */
  bytes(fileId: string): Promise<Buffer | null> {
    return this.redis.getBuffer(keys.upload(fileId));
  }

  /** Deletes the file's bytes and record and unlists it, in one transaction. */
  async delete(tenantId: string, fileId: string): Promise<void> {
    await this.redis.multi().del(keys.upload(fileId), keys.uploadMeta(fileId)).zrem(keys.tenantUploads(tenantId), fileId).exec();
  }
}
