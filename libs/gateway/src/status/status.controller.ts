import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { ParamTypes } from '../common/param-types.decorator';
import { loadStatusAssets } from './status-assets';

/**
 * The web status page: `/status` (HTML), its script, stylesheet and chart.js, all static files.
 * The page itself is public and holds no data; its script calls the tenant API with the key the
 * user enters (or `?key=`) as a Bearer header, so it shows exactly what that key may see.
 */
@ApiExcludeController()
@Public()
@Controller('status')
export class StatusController {
  private readonly assets = loadStatusAssets();

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ParamTypes()
  page(): string {
    return this.assets.page;
  }

  @Get('status.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ParamTypes()
  script(): string {
    return this.assets.script;
  }

  @Get('status.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ParamTypes()
  style(): string {
    return this.assets.style;
  }

  @Get('chart.umd.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'public, max-age=86400')
  @ParamTypes()
  chart(): string {
    return this.assets.chart;
  }
}
