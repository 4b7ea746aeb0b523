import { Module } from '@nestjs/common';
import { InferenceModule } from '../inference/inference.module';
import { HealthController } from './health.controller';

/** /healthz and /readyz. */
@Module({ imports: [InferenceModule], controllers: [HealthController] })
export class HealthModule {}
