import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { ParamTypes } from '../common/param-types.decorator';
import { STATUS_PAGE_HTML, STATUS_PAGE_SCRIPT } from './status-page';

/** chart.js's self-contained browser build, read once (the package exports no subpaths, so resolve its main file's folder). */
function chartJsBundle(): string {
  const main = createRequire(__filename).resolve('chart.js');
  return readFileSync(join(dirname(main), 'chart.umd.js'), 'utf8');
}

/**
 * The web status page: `/status` (HTML), its script and chart.js. The page itself is public and
 * holds no data; its script calls the tenant API with the key the user enters (or `?key=`) as a
 * Bearer header, so it shows exactly what that key may see.
 */
@ApiExcludeController()
@Public()
@Controller('status')
export class StatusController {
  private chartJs: string | undefined;

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ParamTypes()
  page(): string {
    return STATUS_PAGE_HTML;
  }

  @Get('status.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ParamTypes()
  script(): string {
    return STATUS_PAGE_SCRIPT;
  }

  @Get('chart.umd.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'public, max-age=86400')
  @ParamTypes()
  chart(): string {
    return (this.chartJs ??= chartJsBundle());
  }
}
