import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth/auth.guard';
import { CoreModule } from './core/core.module';
import { gatewayLoggerModule } from './core/gateway-logging';
import type { ResolvedGatewayOptions } from './core/gateway-options';
import { FilesModule } from './files/files.module';
import { HealthModule } from './health/health.module';
import { InferenceModule } from './inference/inference.module';
import { JobsModule } from './jobs/jobs.module';
import { MetricsModule } from './metrics/metrics.module';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';
import { StatusModule } from './status/status.module';
import { TenantsModule } from './tenants/tenants.module';

/**
 * The gateway's root module. Global guards run in the order listed: authentication first (it
 * finds the tenant), then the per-tenant rate limit.
 */
@Module({})
export class GatewayModule {
  static forRoot(options: ResolvedGatewayOptions): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        gatewayLoggerModule(options.logLevel),
        CoreModule.forRoot(options),
        TenantsModule,
        FilesModule,
        JobsModule,
        InferenceModule,
        HealthModule,
        MetricsModule,
        StatusModule,
      ],
      providers: [
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
      ],
    };
  }
}
