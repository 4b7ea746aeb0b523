import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  StreamableFile,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ParamTypes } from '../common/param-types.decorator';
import { Tenant, type TenantContext } from '../auth/auth.decorators';
import { ApiErrorResponses } from '../errors/api-error-responses.decorator';
import { DeletedFileDto, FileDto, FileListDto, ListFilesQueryDto, UploadFileBodyDto, UploadFileDto } from './dto/file.dto';
import { FilesService } from './files.service';
import { UploadInterceptor, type UploadedJsonl } from './upload.interceptor';

/** Training and validation files (JSONL). */
@ApiTags('files')
@ApiBearerAuth('api-key')
@Controller('v1/files')
export class FilesController {
  constructor(@Inject(FilesService) private readonly files: FilesService) {}

  @Post()
  @HttpCode(200)
  @UseInterceptors(UploadInterceptor)
  @ApiOperation({
    summary: 'Upload a JSONL file',
    description: 'Validated on upload with line-numbered errors (code = the JSONL rule broken, param = file).',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: UploadFileBodyDto })
  @ApiOkResponse({ type: FileDto })
  @ApiErrorResponses(400, 401, 413, 429)
  @ParamTypes(Object, Object, UploadFileDto)
  upload(@Tenant() t: TenantContext, @UploadedFile() file: UploadedJsonl | undefined, @Body() dto: UploadFileDto): Promise<FileDto> {
    return this.files.upload(t.tenantId, file, dto.purpose ?? 'fine-tune');
  }

  @Get()
  @ApiOperation({ summary: 'List files, newest first' })
  @ApiOkResponse({ type: FileListDto })
  @ApiErrorResponses(400, 401, 429)
  @ParamTypes(Object, ListFilesQueryDto)
  list(@Tenant() t: TenantContext, @Query() q: ListFilesQueryDto): Promise<FileListDto> {
    return this.files.list(t.tenantId, q.after, q.limit, q.purpose);
  }

  @Get(':file_id')
  @ApiOperation({ summary: 'Get a file' })
  @ApiOkResponse({ type: FileDto })
  @ApiErrorResponses(401, 404, 429)
  @ParamTypes(Object, String)
  get(@Tenant() t: TenantContext, @Param('file_id') id: string): Promise<FileDto> {
    return this.files.get(t.tenantId, id);
  }

  @Get(':file_id/content')
  @Header('Content-Type', 'application/jsonl')
  @ApiOperation({ summary: "Download a file's content" })
  @ApiProduces('application/jsonl')
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiErrorResponses(401, 404, 429)
  @ParamTypes(Object, String)
  async content(@Tenant() t: TenantContext, @Param('file_id') id: string): Promise<StreamableFile> {
    return new StreamableFile(await this.files.content(t.tenantId, id));
  }

  @Delete(':file_id')
  @ApiOperation({ summary: 'Delete a file' })
  @ApiOkResponse({ type: DeletedFileDto })
  @ApiErrorResponses(401, 404, 429)
  @ParamTypes(Object, String)
  delete(@Tenant() t: TenantContext, @Param('file_id') id: string): Promise<DeletedFileDto> {
    return this.files.delete(t.tenantId, id);
  }
}
