import { Module } from '@nestjs/common';
import { FilesModule } from '../files/files.module';
import { JobEventStreamService } from './job-event-stream.service';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';

/** Fine-tuning jobs. Exports the service: inference checks which fine-tuned models a tenant owns. */
@Module({ imports: [FilesModule], controllers: [JobsController], providers: [JobsService, JobEventStreamService], exports: [JobsService] })
export class JobsModule {}
