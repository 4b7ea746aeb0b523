export * from './service-registry';
export * from './tenant-labels';
export * from './cola-metrics';
export * from './queue-depth';
export * from './metrics-endpoint';
export * from './stage-timings';
