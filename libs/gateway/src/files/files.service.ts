import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { JsonlError } from '@cola/data';
import { UploadStore } from '@cola/pipeline';
import { isUsableId, newId, unixSeconds } from '../common/ids';
import { DEFAULT_PAGE_SIZE, invalidCursor, page, type Page } from '../common/pagination';
import { ApiError, notFound } from '../errors/api-error';
import type { ResolvedGatewayOptions } from '../core/gateway-options';
import { GATEWAY_OPTIONS, REDIS } from '../core/tokens';
import type { DeletedFileDto, FileDto, FilePurpose } from './dto/file.dto';
import { UPLOAD_FIELD, type UploadedJsonl } from './upload.interceptor';

/** A stored file as the jobs module needs it. */
export interface StoredFile {
  id: string;
  kind: 'classification' | 'completion';
  labels: string[];
  rows: number;
}

/**
 * Tenant uploads: JSONL checked by the pipeline's `UploadStore` (the libs/data rules, so a stored
 * file always parses when the gpu-host reads it), owned by one tenant, listed newest first.
 */
@Injectable()
export class FilesService {
  private readonly uploads: UploadStore;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(GATEWAY_OPTIONS) private readonly options: ResolvedGatewayOptions,
  ) {
    this.uploads = new UploadStore(redis);
  }

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
    const body = new Uint8Array(file.buffer.buffer, file.buffer.byteOffset, file.buffer.byteLength);
    try {
      // The store parses first and writes nothing for a file that does not parse.
      await this.uploads.put(id, body, {
        tenantId,
        filename: file.originalname || 'upload.jsonl',
        purpose,
        createdAt: Date.now(),
        sha256: createHash('sha256').update(body).digest('hex'),
      });
    } catch (e) {
      if (e instanceof JsonlError) {
        if (e.code === 'too_large') throw new ApiError(413, 'file_too_large', e.message, UPLOAD_FIELD);
        throw new ApiError(400, e.code, `Invalid JSONL: ${e.message}`, UPLOAD_FIELD);
      }
      throw e;
    }
    return this.get(tenantId, id);
  }

  /**
   * A page of the tenant's files, newest first. `purpose` filters within the page (every file has
   * purpose `fine-tune` today, so pages stay full).
   */
  async list(tenantId: string, after: string | undefined, limit = DEFAULT_PAGE_SIZE, purpose?: FilePurpose): Promise<Page<FileDto>> {
    const listed = await this.uploads.byTenant.page(tenantId, after, limit);
    if (!listed) throw invalidCursor(after!);
    const { ids, hasMore } = listed;
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
    const body = await this.uploads.bytes(fileId);
    if (!body) throw notFound('file', fileId);
    return body;
  }

  async delete(tenantId: string, fileId: string): Promise<DeletedFileDto> {
    await this.get(tenantId, fileId);
    await this.uploads.delete(tenantId, fileId);
    return { id: fileId, object: 'file', deleted: true };
  }

  /** The file if it exists and belongs to the tenant, else null (the two are indistinguishable). */
  private async find(tenantId: string, fileId: string): Promise<FileDto | null> {
    if (!isUsableId(fileId)) return null;
    const r = await this.uploads.record(fileId);
    if (r?.tenantId !== tenantId) return null;
    return {
      id: fileId,
      object: 'file',
      bytes: r.bytes,
      created_at: unixSeconds(r.createdAt),
      filename: r.filename,
      purpose: r.purpose as FilePurpose,
      status: 'processed',
      rows: r.rows,
      kind: r.kind,
      labels: r.kind === 'classification' ? r.labels : null,
    };
  }
}
