export * from './errors/payload-missing-error';
export * from './errors/payload-corrupt-error';
export * from './errors/aux-state-missing-error';
export * from './checksum-frame';
export * from './lua-script';
export * from './tensor-store';
export * from './aux-state-store';
export * from './frame-pool';
