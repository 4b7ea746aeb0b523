export * from './ids';
export * from './names';
export * from './ttls';
export * from './queue-options';
export * from './ports';
export * from './env';
export * from './env-vars';
export * from './metric-names';
