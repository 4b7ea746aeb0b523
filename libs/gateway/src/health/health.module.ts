import { Module } from '@nestjs/common';
import { InferenceModule } from '../inference/inference.module';
import { ApiIndexController } from './api-index.controller';
import { HealthController } from './health.controller';

/** /healthz, /readyz and the API root `/v1`. */
@Module({ imports: [InferenceModule], controllers: [HealthController, ApiIndexController] })
export class HealthModule {}
