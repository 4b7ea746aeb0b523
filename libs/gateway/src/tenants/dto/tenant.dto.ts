import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ID_PATTERN } from '@cola/config';
import { ListEnvelopeDto } from '../../common/pagination';

/** POST /v1/admin/tenants */
export class CreateTenantDto {
  @ApiPropertyOptional({
    type: String,
    pattern: ID_PATTERN.source,
    description: 'Tenant id (it appears in fine-tuned model names); minted when omitted.',
    example: 'acme',
  })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: 'must be 1-128 characters from [A-Za-z0-9_-], starting with a letter or digit' })
  id?: string;

  @ApiPropertyOptional({ type: String, maxLength: 200, description: 'Display name.', example: 'ACME Corp' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;
}

/** POST /v1/admin/tenants/:tenant_id/api_keys */
export class CreateApiKeyDto {
  @ApiPropertyOptional({ type: String, maxLength: 200, description: 'A label for the key, e.g. where it is used.', example: 'ci' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;
}

export class TenantDto {
  @ApiProperty({ type: String, enum: ['tenant'] })
  object!: 'tenant';

  @ApiProperty({ type: String, example: 'acme' })
  id!: string;

  @ApiProperty({ type: String, nullable: true })
  name!: string | null;

  @ApiProperty({ type: Number, description: 'Unix seconds.' })
  created_at!: number;
}

export class ApiKeyDto {
  @ApiProperty({ type: String, enum: ['api_key'] })
  object!: 'api_key';

  @ApiProperty({ type: String, example: 'key-3N5x0QmVbJ2kLq8W' })
  id!: string;

  @ApiProperty({ type: String })
  tenant_id!: string;

  @ApiProperty({ type: String, nullable: true })
  name!: string | null;

  @ApiProperty({ type: String, description: 'The key with all but its last characters hidden.', example: 'sk-cola-…Ab3d' })
  redacted_key!: string;

  @ApiProperty({ type: Number, description: 'Unix seconds.' })
  created_at!: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Unix seconds; null while the key is valid.' })
  revoked_at!: number | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ type: String, description: 'The key itself. Shown only in this response: only its SHA-256 is stored.' })
  key!: string;
}

/** POST /v1/admin/tenants answers the tenant and its first API key. */
export class CreatedTenantDto extends TenantDto {
  @ApiProperty({
    type: CreatedApiKeyDto,
    description: 'The tenant’s first API key, with the key itself shown only in this response. More: POST .../api_keys.',
  })
  api_key!: CreatedApiKeyDto;
}

export class ApiKeyListDto extends ListEnvelopeDto {
  @ApiProperty({ type: [ApiKeyDto] })
  data!: ApiKeyDto[];
}
