import type { Redis } from 'ioredis';
import { keys, LIMITS } from '@cola/config';
import { parseJsonl, type JsonlDataset } from '@cola/data';

/** Stores a tenant's JSONL upload (validated first, so a stored file always parses). */
export async function putUpload(redis: Redis, fileId: string, body: Uint8Array, meta: Record<string, string> = {}): Promise<JsonlDataset> {
  const dataset = parseJsonl(body, { maxBytes: LIMITS.uploadMaxBytes });
  await redis.set(keys.upload(fileId), Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  await redis.hset(keys.uploadMeta(fileId), {
    bytes: String(body.byteLength),
    rows: String(dataset.rows.length),
    kind: dataset.kind,
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
