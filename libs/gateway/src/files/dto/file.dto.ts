import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { ListEnvelopeDto, ListQueryDto } from '../../common/pagination';

/** Purposes a file may have (OpenAI's name for training and validation data). */
export const FILE_PURPOSES = ['fine-tune'] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];

/** The non-file fields of POST /v1/files (multipart/form-data). */
export class UploadFileDto {
  @ApiPropertyOptional({ type: String, enum: FILE_PURPOSES, default: 'fine-tune' })
  @IsOptional()
  @IsIn(FILE_PURPOSES)
  purpose?: FilePurpose;
}

/** Schema of the multipart body, for the OpenAPI document only. */
export class UploadFileBodyDto extends UploadFileDto {
  @ApiProperty({ type: 'string', format: 'binary', description: 'JSONL: one {"text","label"} or {"prompt","completion"} object per line.' })
  file!: unknown;
}

/** GET /v1/files query. */
export class ListFilesQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ type: String, enum: FILE_PURPOSES })
  @IsOptional()
  @IsIn(FILE_PURPOSES)
  purpose?: FilePurpose;
}

export class FileDto {
  @ApiProperty({ type: String, example: 'file-abc123' })
  id!: string;

  @ApiProperty({ type: String, enum: ['file'] })
  object!: 'file';

  @ApiProperty({ type: Number })
  bytes!: number;

  @ApiProperty({ type: Number, description: 'Unix seconds.' })
  created_at!: number;

  @ApiProperty({ type: String })
  filename!: string;

  @ApiProperty({ type: String, enum: FILE_PURPOSES })
  purpose!: FilePurpose;

  @ApiProperty({ type: String, enum: ['processed'], description: 'Files are validated on upload, so a stored file is always processed.' })
  status!: 'processed';

  @ApiProperty({ type: Number, description: 'JSONL rows.' })
  rows!: number;

  @ApiProperty({
    type: String,
    enum: ['classification', 'completion'],
    description: 'Row shape: {"text","label"} or {"prompt","completion"}.',
  })
  kind!: 'classification' | 'completion';

  @ApiProperty({ type: [String], nullable: true, description: 'Distinct labels, sorted (classification files).' })
  labels!: string[] | null;
}

export class FileListDto extends ListEnvelopeDto {
  @ApiProperty({ type: [FileDto] })
  data!: FileDto[];
}

export class DeletedFileDto {
  @ApiProperty({ type: String })
  id!: string;

  @ApiProperty({ type: String, enum: ['file'] })
  object!: 'file';

  @ApiProperty({ type: Boolean })
  deleted!: boolean;
}
