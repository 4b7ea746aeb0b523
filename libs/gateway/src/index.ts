// @cola/gateway: the public multi-tenant fine-tuning API as NestJS modules. apps/gateway only
// reads the environment and listens; everything else is here.
export { createGatewayApp } from './create-gateway-app';
export { GatewayModule } from './gateway.module';
export { resolveGatewayOptions, GatewayOptionsError, type GatewayOptions, type ResolvedGatewayOptions } from './core/gateway-options';
export { gatewayOptionsFromEnv, type GatewayEnv } from './core/gateway-env';
export { ApiError, type ErrorBody } from './errors/api-error';
export { hashApiKey, API_KEY_PREFIX } from './auth/api-keys';
export { exportAdapter, COLA_AUX_PREFIX, type AdapterConfig, type ExportedAdapter, type ExportedLayer } from './jobs/adapter-export';
export { fineTunedModelName } from './jobs/job-view';
export { DOCS_PATH, DOCS_JSON_PATH } from './docs/openapi';
