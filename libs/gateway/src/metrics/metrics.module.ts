import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';

/** /metrics. */
@Module({ controllers: [MetricsController] })
export class MetricsModule {}
