import { Module } from '@nestjs/common';
import { TenantsController } from './tenants.controller';
import { TenantsService } from './tenants.service';

/** Tenants and API keys (admin). */
@Module({ controllers: [TenantsController], providers: [TenantsService] })
export class TenantsModule {}
