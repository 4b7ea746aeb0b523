import { Module } from '@nestjs/common';
import { FilesController } from './files.controller';
import { FilesService } from './files.service';
import { UploadInterceptor } from './upload.interceptor';

/** Training and validation files. Exports the service: jobs check the files they name. */
@Module({ controllers: [FilesController], providers: [FilesService, UploadInterceptor], exports: [FilesService] })
export class FilesModule {}
