import { Module } from '@nestjs/common';
import { InferenceController } from './inference.controller';
import { InferenceService } from './inference.service';
import { MergerClient } from './merger-client';

/** Inference through the merger. Exports the client: /readyz probes the merger with it. */
@Module({ controllers: [InferenceController], providers: [InferenceService, MergerClient], exports: [MergerClient] })
export class InferenceModule {}
