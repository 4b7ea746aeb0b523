import {
  HttpException,
  Inject,
  Injectable,
  PayloadTooLargeException,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Observable } from 'rxjs';
import { ApiError } from '../errors/api-error';
import type { ResolvedGatewayOptions } from '../core/gateway-options';
import { GATEWAY_OPTIONS } from '../core/tokens';

/** The uploaded file as multer (memory storage) hands it over. */
export interface UploadedJsonl {
  originalname: string;
  size: number;
  buffer: Buffer;
}

/** Name of the multipart field holding the file (OpenAI's). */
export const UPLOAD_FIELD = 'file';

/**
 * Parses the multipart upload into memory with the upload size limit, and turns multer's errors
 * into the API's: over the limit is 413 `file_too_large` (multer stops reading there, so an
 * oversized body is never buffered whole), any other multipart problem is 400 `invalid_upload`.
 */
@Injectable()
export class UploadInterceptor implements NestInterceptor {
  private readonly inner: NestInterceptor;
  private readonly maxBytes: number;

  constructor(@Inject(GATEWAY_OPTIONS) options: ResolvedGatewayOptions) {
    this.maxBytes = options.uploadMaxBytes;
    const Multer = FileInterceptor(UPLOAD_FIELD, { limits: { fileSize: options.uploadMaxBytes, files: 1, fields: 10 } });
    this.inner = new Multer();
  }

  async intercept(ctx: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    try {
      return await this.inner.intercept(ctx, next);
    } catch (e) {
      if (e instanceof PayloadTooLargeException) {
        throw new ApiError(
          413,
          'file_too_large',
          `The file is larger than the limit of ${this.maxBytes} bytes; split it or sample fewer rows`,
          UPLOAD_FIELD,
        );
      }
      if (e instanceof HttpException)
        throw new ApiError(
          400,
          'invalid_upload',
          `Invalid multipart upload (${e.message}); send multipart/form-data with the JSONL in the "${UPLOAD_FIELD}" field`,
          UPLOAD_FIELD,
        );
      throw e;
    }
  }
}
