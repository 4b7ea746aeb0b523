import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docker, imageLabel } from './docker-cli';
import { HASH_LABEL, IMAGES, SERVICES, type ServiceName } from './image-names';
import type { BuiltImage } from './rootfs-images';

/** Where the host-installed production dependencies are staged (inside the build context). */
export const STAGING = '.image-deps';
const DOCKERFILE = 'deploy/docker/Dockerfile';
/** What the image copies from the repository (see the Dockerfile's COPY lines). */
const CONTEXT_PATHS = ['package.json', 'package-lock.json', 'tsconfig.base.json', 'tsconfig.json', 'apps', 'libs', 'models', DOCKERFILE];
const SKIP_DIRS = new Set(['node_modules', 'dist', '.nx']);

function files(root: string, path: string): string[] {
  const full = join(root, path);
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full)
    .filter((e) => !SKIP_DIRS.has(e))
    .sort()
    .flatMap((e) => files(root, join(path, e)));
}

function hashFiles(root: string, paths: readonly string[], salt: string): string {
  const h = createHash('sha256').update(salt);
  for (const f of paths.flatMap((p) => files(root, p)))
    h.update(f)
      .update('\0')
      .update(readFileSync(join(root, f)))
      .update('\0');
  return h.digest('hex').slice(0, 16);
}

/** The manifests `npm ci` reads: the root's and every workspace's package.json, and the lock. */
function manifestPaths(root: string): string[] {
  const ws = ['apps', 'libs'].flatMap((d) =>
    readdirSync(join(root, d))
      .map((e) => join(d, e, 'package.json'))
      .filter((p) => existsSync(join(root, p))),
  );
  return ['package.json', 'package-lock.json', ...ws];
}

function npm(args: readonly string[], cwd: string): void {
  const res = spawnSync('npm', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`npm ${args.join(' ')} (in ${cwd}) failed: ${(res.stderr ?? '').slice(-2000)}`);
}

/**
 * Installs the production dependencies on the host, into `.image-deps/app/node_modules`, and the
 * locked tsx into `.image-deps/tsx`: builds here have no network, the host reaches the registry.
 * Skipped when the manifests did not change since the last staging.
 */
export function stageDependencies(root: string): { hash: string; staged: boolean; ms: number } {
  const started = performance.now();
  const manifests = manifestPaths(root);
  const hash = hashFiles(root, manifests, 'deps/1');
  const stage = join(root, STAGING);
  const stamp = join(stage, 'hash');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return { hash, staged: false, ms: performance.now() - started };
  rmSync(stage, { recursive: true, force: true });
  const app = join(stage, 'app');
  for (const m of manifests) {
    mkdirSync(join(app, m, '..'), { recursive: true });
    copyFileSync(join(root, m), join(app, m));
  }
  npm(['ci', '--omit=dev', '--no-audit', '--no-fund'], app);
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const tsx = lock.packages['node_modules/tsx']?.version;
  if (!tsx) throw new Error('package-lock.json pins no tsx');
  mkdirSync(join(stage, 'tsx'), { recursive: true });
  npm(['install', '--prefix', join(stage, 'tsx'), '--no-save', '--no-audit', '--no-fund', `tsx@${tsx}`], root);
  writeFileSync(stamp, hash);
  return { hash, staged: true, ms: performance.now() - started };
}

/** Options for {@link buildServiceImages}. */
export interface ServiceBuildOptions {
  /** Repository root (the build context). */
  root: string;
  /** Hash of the staged dependencies. */
  depsHash: string;
  /** Content hash of the node base image. */
  baseHash: string;
  /** Print the builder's output. */
  echo?: boolean;
}

/**
 * Builds the four service images from deploy/docker/Dockerfile with DEPS=host on the node base.
 * An image whose content-hash label matches is reused. The services share every file layer: the
 * first build makes them, the others only add their SERVICE metadata.
 */
export async function buildServiceImages(opts: ServiceBuildOptions): Promise<BuiltImage[]> {
  const hash = hashFiles(opts.root, CONTEXT_PATHS, `services/1/${opts.depsHash}/${opts.baseHash}`);
  const out: BuiltImage[] = [];
  for (const service of SERVICES) out.push(await buildService(service, hash, opts));
  return out;
}

async function buildService(service: ServiceName, hash: string, opts: ServiceBuildOptions): Promise<BuiltImage> {
  const image = IMAGES.services[service];
  const started = performance.now();
  if ((await imageLabel(image, HASH_LABEL)) === hash) return { image, built: false, ms: performance.now() - started };
  await docker(
    [
      'build',
      '-f',
      DOCKERFILE,
      '--build-arg',
      `NODE_IMAGE=${IMAGES.nodeBase}`,
      '--build-arg',
      'DEPS=host',
      '--build-arg',
      `SERVICE=${service}`,
      '--label',
      `${HASH_LABEL}=${hash}`,
      '-t',
      image,
      '.',
    ],
    { echo: opts.echo },
  );
  return { image, built: true, ms: performance.now() - started };
}
