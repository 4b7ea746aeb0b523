import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { keys } from '@cola/config';
import { JsonlError } from '@cola/data';
import { putUpload } from '@cola/pipeline';
import { isUsableId, newId, unixSeconds } from '../common/ids';
import { DEFAULT_PAGE_SIZE, page, pageOfSortedSet, type Page } from '../common/pagination';
import { ApiError, notFound } from '../errors/api-error';
import type { ResolvedGatewayOptions } from '../core/gateway-options';
import { GATEWAY_OPTIONS, REDIS } from '../core/tokens';
import type { DeletedFileDto, FileDto, FilePurpose } from './dto/file.dto';
import { UPLOAD_FIELD, type UploadedJsonl } from './upload.interceptor';

/** Meta fields the gateway adds to `keys.uploadMeta` (putUpload adds bytes, rows, kind). */
interface UploadMeta {
  tenant_id: string;
  filename: string;
  purpose: FilePurpose;
  created_at: string;
  sha256: string;
  /** JSON list of the distinct labels (classification files). */
  labels: string;
}

/** A stored file as the jobs module needs it. */
export interface StoredFile {
  id: string;
  kind: 'classification' | 'completion';
  labels: string[];
  rows: number;
}

/**
 * Tenant uploads: JSONL checked by the pipeline's `putUpload` (the libs/data rules, so a stored
 * file always parses when the gpu-host reads it), owned by one tenant, listed newest first.
 */
@Injectable()
export class FilesService {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_OPTIONS) private readonly options: ResolvedGatewayOptions,
  ) {}

  async upload(tenantId: string, file: UploadedJsonl | undefined, purpose: FilePurpose): Promise<FileDto> {
    if (!file)
      throw new ApiError(
        400,
        'missing_file',
        `No file: send multipart/form-data with the JSONL in the "${UPLOAD_FIELD}" field`,
        UPLOAD_FIELD,
      );
    if (file.size > this.options.uploadMaxBytes)
      throw new ApiError(
        413,
        'file_too_large',
        `The file is ${file.size} bytes, above the limit of ${this.options.uploadMaxBytes}`,
        UPLOAD_FIELD,
      );
    const id = newId.file();
    const now = Date.now();
    const body = new Uint8Array(file.buffer.buffer, file.buffer.byteOffset, file.buffer.byteLength);
    try {
      // putUpload parses first and writes nothing for a file that does not parse.
      const meta: UploadMeta = {
        tenant_id: tenantId,
        filename: file.originalname || 'upload.jsonl',
        purpose,
        created_at: String(now),
        sha256: createHash('sha256').update(body).digest('hex'),
        labels: '[]',
      };
      const dataset = await putUpload(this.redis, id, body, { ...meta });
      if (dataset.kind === 'classification')
        await this.redis.hset(keys.uploadMeta(id), 'labels', JSON.stringify(dataset.labels.map(String)));
    } catch (e) {
      if (e instanceof JsonlError) {
        if (e.code === 'too_large') throw new ApiError(413, 'file_too_large', e.message, UPLOAD_FIELD);
        throw new ApiError(400, e.code, `Invalid JSONL: ${e.message}`, UPLOAD_FIELD);
      }
      throw e;
    }
    await this.redis.zadd(keys.tenantUploads(tenantId), now, id);
    return this.get(tenantId, id);
  }

  /**
   * A page of the tenant's files, newest first. `purpose` filters within the page (every file has
   * purpose `fine-tune` today, so pages stay full).
   */
  async list(tenantId: string, after: string | undefined, limit = DEFAULT_PAGE_SIZE, purpose?: FilePurpose): Promise<Page<FileDto>> {
    const { ids, hasMore } = await pageOfSortedSet(this.redis, keys.tenantUploads(tenantId), after, limit);
    const files = (await Promise.all(ids.map((id) => this.find(tenantId, id)))).filter(
      (f): f is FileDto => f !== null && (purpose === undefined || f.purpose === purpose),
    );
    return page(files, hasMore, (f) => f.id);
  }

  async get(tenantId: string, fileId: string): Promise<FileDto> {
    const f = await this.find(tenantId, fileId);
    if (!f) throw notFound('file', fileId);
    return f;
  }

  /** The file for a job, or a 400 naming the request field (a missing or foreign file is one error). */
  async forJob(tenantId: string, fileId: string, param: string): Promise<StoredFile> {
    const f = await this.find(tenantId, fileId);
    if (!f)
      throw new ApiError(
        400,
        'file_not_found',
        `No file with id ${JSON.stringify(fileId)} exists (or it is not yours); upload it with POST /v1/files`,
        param,
      );
    return { id: f.id, kind: f.kind, labels: f.labels ?? [], rows: f.rows };
  }

  async content(tenantId: string, fileId: string): Promise<Buffer> {
    await this.get(tenantId, fileId);
    const body = await this.redis.getBuffer(keys.upload(fileId));
    if (!body) throw notFound('file', fileId);
    return body;
  }

  async delete(tenantId: string, fileId: string): Promise<DeletedFileDto> {
    await this.get(tenantId, fileId);
    await this.redis.multi().del(keys.upload(fileId), keys.uploadMeta(fileId)).zrem(keys.tenantUploads(tenantId), fileId).exec();
    return { id: fileId, object: 'file', deleted: true };
  }

  /** The file if it exists and belongs to the tenant, else null (the two are indistinguishable). */
  private async find(tenantId: string, fileId: string): Promise<FileDto | null> {
    if (!isUsableId(fileId)) return null;
    const m = await this.redis.hgetall(keys.uploadMeta(fileId));
    if (m.tenant_id !== tenantId) return null;
    return {
      id: fileId,
      object: 'file',
      bytes: Number(m.bytes),
      created_at: unixSeconds(Number(m.created_at)),
      filename: m.filename ?? '',
      purpose: (m.purpose ?? 'fine-tune') as FilePurpose,
      status: 'processed',
      rows: Number(m.rows),
      kind: m.kind === 'completion' ? 'completion' : 'classification',
      labels: m.kind === 'classification' ? (JSON.parse(m.labels ?? '[]') as string[]) : null,
    };
  }
}
