export * from './local-redis-server';
export * from './docker-probe';
export * from './start-redis';
export * from './redis-db-lease';
export * from './use-redis';
export * from './stack/service-process';
export * from './stack/refused-start';
