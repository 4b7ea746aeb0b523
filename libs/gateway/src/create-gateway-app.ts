import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { json } from 'express';
import type { Registry } from 'prom-client';
import { requestIdMiddleware } from './common/request-id';
import { resolveGatewayOptions, type GatewayOptions } from './core/gateway-options';
import { METRICS_REGISTRY } from './core/tokens';
import { setupOpenApi } from './docs/openapi';
import { ApiExceptionFilter } from './errors/api-exception.filter';
import { bodyParserErrorHandler } from './errors/body-parser-errors';
import { answerClientErrorsAsJson } from './errors/client-errors';
import { checkJsonDepth } from './common/json-depth';
import { validationErrorToApiError } from './errors/validation-errors';
import { GatewayModule } from './gateway.module';
import { httpMetricsMiddleware } from './metrics/http-metrics';

/**
 * Builds the gateway app (not yet listening): options validated at once, the JSON body limit,
 * the global validation pipe and exception filter, OpenAPI at /docs, shutdown hooks. Tests call
 * this with a random port; `apps/gateway` calls it with the environment's options.
 */
export async function createGatewayApp(input: GatewayOptions): Promise<NestExpressApplication> {
  const options = resolveGatewayOptions(input);
  // bodyParser off: ours below has the configured limit and answers errors in the API's shape.
  // Logs wait in a buffer until the app's pino logger (gateway-logging.ts) takes them.
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(options), {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  answerClientErrorsAsJson(app.getHttpServer());
  app.use(requestIdMiddleware);
  app.use(httpMetricsMiddleware(app.get<Registry>(METRICS_REGISTRY)));
  app.use(json({ limit: options.bodyMaxBytes, verify: (_req, _res, buf) => checkJsonDepth(buf) }));
  app.use(bodyParserErrorHandler(options.bodyMaxBytes));
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      // Explicit class-transformer @Type() decorators do the conversions; no implicit ones from metadata we do not emit.
      transformOptions: { enableImplicitConversion: false },
      exceptionFactory: validationErrorToApiError,
    }),
  );
  app.useGlobalFilters(new ApiExceptionFilter());
  setupOpenApi(app);
  // SIGTERM/SIGINT: stop taking connections, end SSE streams, then close Redis and gRPC.
  app.enableShutdownHooks();
  return app;
}
