import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ParamTypes } from '../common/param-types.decorator';
import { AdminOnly } from '../auth/auth.decorators';
import { ApiErrorResponses } from '../errors/api-error-responses.decorator';
import {
  ApiKeyDto,
  ApiKeyListDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  CreatedTenantDto,
  CreateTenantDto,
  TenantDto,
} from './dto/tenant.dto';
import { TenantsService } from './tenants.service';

/** Admin API: tenants and their API keys. Needs the admin key. */
@ApiTags('admin')
@ApiBearerAuth('admin')
@AdminOnly()
@Controller('v1/admin/tenants')
export class TenantsController {
  constructor(@Inject(TenantsService) private readonly tenants: TenantsService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a tenant, with its first API key',
    description: 'The answer carries `api_key.key`, the first key itself: it is shown only once (only its SHA-256 is stored).',
  })
  @ApiCreatedResponse({ type: CreatedTenantDto })
  @ApiErrorResponses(400, 401, 403, 409)
  @ParamTypes(CreateTenantDto)
  async create(@Body() dto: CreateTenantDto): Promise<CreatedTenantDto> {
    const tenant = await this.tenants.create(dto.id, dto.name);
    return { ...tenant, api_key: await this.tenants.createKey(tenant.id, 'first key') };
  }

  @Get(':tenant_id')
  @ApiOperation({ summary: 'Get a tenant' })
  @ApiOkResponse({ type: TenantDto })
  @ApiErrorResponses(401, 403, 404)
  @ParamTypes(String)
  get(@Param('tenant_id') tenantId: string): Promise<TenantDto> {
    return this.tenants.get(tenantId);
  }

  @Post(':tenant_id/api_keys')
  @ApiOperation({
    summary: 'Issue an API key for a tenant',
    description: 'The key is in this response only; the gateway stores its SHA-256.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiErrorResponses(400, 401, 403, 404)
  @ParamTypes(String, CreateApiKeyDto)
  createKey(@Param('tenant_id') tenantId: string, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.tenants.createKey(tenantId, dto.name);
  }

  @Get(':tenant_id/api_keys')
  @ApiOperation({ summary: "List a tenant's API keys (redacted)" })
  @ApiOkResponse({ type: ApiKeyListDto })
  @ApiErrorResponses(401, 403, 404)
  @ParamTypes(String)
  listKeys(@Param('tenant_id') tenantId: string): Promise<ApiKeyListDto> {
    return this.tenants.listKeys(tenantId);
  }

  @Delete(':tenant_id/api_keys/:key_id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an API key', description: 'Takes effect on the next request, on every replica.' })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiErrorResponses(401, 403, 404)
  @ParamTypes(String, String)
  revokeKey(@Param('tenant_id') tenantId: string, @Param('key_id') keyId: string): Promise<ApiKeyDto> {
    return this.tenants.revokeKey(tenantId, keyId);
  }
}
