import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

/** Where the docs are served: Swagger UI at /docs, the document at /docs-json. */
export const DOCS_PATH = 'docs';
export const DOCS_JSON_PATH = 'docs-json';

/** Builds the OpenAPI document of every controller and serves it (UI and JSON). */
export function setupOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('ColA FTaaS API')
    .setDescription(
      'Multi-tenant fine-tuning with Collaborative Adaptation (ColA). Shapes follow the OpenAI fine-tuning API where they fit. ' +
        'Every error is {"error": {"code", "message", "param"}}. Authenticate with "Authorization: Bearer <api key>" (admin routes: the admin key).',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A tenant API key (sk-cola-...)' }, 'api-key')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The admin key (GATEWAY_ADMIN_KEY)' }, 'admin')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup(DOCS_PATH, app, document, { jsonDocumentUrl: DOCS_JSON_PATH, yamlDocumentUrl: `${DOCS_PATH}-yaml` });
  return document;
}
