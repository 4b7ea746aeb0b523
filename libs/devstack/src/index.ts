export * from './pipeline-stack';
export * from './local-stack';
export * from './supervisor';
