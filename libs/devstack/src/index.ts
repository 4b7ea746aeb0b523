export * from './pipeline-stack';
