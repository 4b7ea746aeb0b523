/**
 * Names of the images `npm run images` builds. The service images carry the names the Kubernetes
 * manifests use (deploy/k8s/base), so a local cluster (kind, k3s, minikube) can load them as they
 * are; the base and tool images are local only.
 */
export const IMAGES = {
  /** Debian trixie minbase with Debian's Node.js 20: the base of the service images. */
  nodeBase: 'cola/node-base:trixie',
  /** Debian's redis-server and its libraries. Tagged as the image @cola/testing asks Testcontainers for. */
  redis: 'redis:7-alpine',
  /** Debian's prometheus binary. */
  prometheus: 'cola/prometheus:local',
  /** The services, one image each, from deploy/docker/Dockerfile. */
  services: {
    gateway: 'ghcr.io/cola-ftaas/gateway:latest',
    'gpu-host': 'ghcr.io/cola-ftaas/gpu-host:latest',
    'aux-trainer': 'ghcr.io/cola-ftaas/aux-trainer:latest',
    merger: 'ghcr.io/cola-ftaas/merger:latest',
  },
} as const;

/** A service that has an image (a folder of apps/). */
export type ServiceName = keyof typeof IMAGES.services;

/** Every service image, in build order. */
export const SERVICES = Object.keys(IMAGES.services) as ServiceName[];

/** Label holding the hash of everything an image was built from; equal hash = image is current. */
export const HASH_LABEL = 'io.cola-ftaas.content-hash';
