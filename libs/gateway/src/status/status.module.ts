import { Module } from '@nestjs/common';
import { StatusController } from './status.controller';

/** The web status page at /status (jobs, loss, validation, tokens/s, communication overhead). */
@Module({ controllers: [StatusController] })
export class StatusModule {}
