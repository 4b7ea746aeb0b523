export * from './images/docker-cli';
export * from './images/image-names';
export * from './images/rootfs-images';
export * from './images/app-images';
export * from './images/build-all';
export * from './capacity/model';
export * from './capacity/bench-output';
