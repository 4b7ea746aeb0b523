export * from './tf';
export * from './backend/select-backend';
export * from './io/dtype';
export * from './io/safetensors';
