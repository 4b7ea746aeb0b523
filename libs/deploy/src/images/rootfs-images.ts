import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { docker, imageLabel } from './docker-cli';
import { HASH_LABEL, IMAGES } from './image-names';

/** What one image build did. */
export interface BuiltImage {
  readonly image: string;
  /** False when an image with the same content hash was already there. */
  readonly built: boolean;
  /** Wall time of this build (or of the check, when reused), ms. */
  readonly ms: number;
}

/** Debian suite of the node base: trixie is the first Debian release whose `nodejs` is Node 20. */
const SUITE = 'trixie';
const NODE_BASE_PACKAGES = ['nodejs'];
/** Kept between runs so a rebuild of the base does not download the .debs again. */
const DEBOOTSTRAP_CACHE = '/var/cache/cola-debootstrap';
/** Paths deleted from the base: documentation and package indexes nothing at run time reads. */
const BASE_PRUNE = [
  'usr/share/doc',
  'usr/share/man',
  'usr/share/info',
  'usr/share/locale',
  'usr/share/nodejs/corepack',
  'var/cache/apt',
  'var/lib/apt/lists',
  'var/log',
];

function sha(parts: readonly (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

function run(cmd: string, args: readonly string[]): void {
  const res = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (res.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${res.status ?? res.signal}): ${(res.stderr ?? '').slice(-2000)}`);
}

/** Imports a folder as a one-layer image (`tar | docker import`), with Dockerfile-style changes. */
async function importDir(dir: string, image: string, changes: readonly string[]): Promise<void> {
  const tar = spawn('tar', ['--numeric-owner', '-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const args = ['import', ...changes.flatMap((c) => ['--change', c]), '-', image];
  await docker(args, { input: tar.stdout });
}

/** Reuses `image` when its hash label equals `hash`; else runs `make` and times it. */
async function cached(image: string, hash: string, make: () => Promise<void>): Promise<BuiltImage> {
  const started = performance.now();
  if ((await imageLabel(image, HASH_LABEL)) === hash) return { image, built: false, ms: performance.now() - started };
  await make();
  return { image, built: true, ms: performance.now() - started };
}

/**
 * The node base: `debootstrap --variant=minbase --include=nodejs trixie`, pruned, imported as one
 * layer. Needs root and Debian's debootstrap (the build script says how to get it).
 */
export async function buildNodeBase(): Promise<BuiltImage> {
  const hash = sha(['node-base/1', SUITE, ...NODE_BASE_PACKAGES, ...BASE_PRUNE]);
  return cached(IMAGES.nodeBase, hash, async () => {
    const work = mkdtempSync(join('/var/tmp', 'cola-base-'));
    const root = join(work, 'rootfs');
    try {
      mkdirSync(DEBOOTSTRAP_CACHE, { recursive: true });
      run('debootstrap', [
        '--variant=minbase',
        `--include=${NODE_BASE_PACKAGES.join(',')}`,
        `--cache-dir=${DEBOOTSTRAP_CACHE}`,
        SUITE,
        root,
      ]);
      for (const p of BASE_PRUNE) rmSync(join(root, p), { recursive: true, force: true });
      mkdirSync(join(root, 'var/log'));
      await importDir(root, IMAGES.nodeBase, [
        `LABEL ${HASH_LABEL}=${hash}`,
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'CMD ["node"]',
      ]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/** The shared libraries a binary loads, by `ldd` (their resolved paths), plus the loader. */
function sharedLibraries(binary: string): string[] {
  const res = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (res.status !== 0) return []; // a static binary
  const libs = new Set<string>();
  for (const line of res.stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]);
  }
  return [...libs];
}

/** Copies `src` (symlinks resolved) to `root` + `dest`. */
function place(root: string, src: string, dest = src): void {
  const target = join(root, dest);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(realpathSync(src), target);
  chmodSync(target, 0o755);
}

/** A minimal root: /bin/sh (dash), a passwd with one unprivileged user, /tmp, /data. */
function minimalRoot(root: string, user: { name: string; uid: number }): void {
  for (const d of ['etc', 'tmp', 'data', 'bin', 'usr/bin']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  place(root, '/bin/dash', '/bin/sh');
  for (const lib of sharedLibraries('/bin/dash')) place(root, lib);
  writeFileSync(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\n${user.name}:x:${user.uid}:${user.uid}::/data:/bin/sh\n`);
  writeFileSync(join(root, 'etc/group'), `root:x:0:\n${user.name}:x:${user.uid}:\n`);
}

/** Finds a binary that a Debian package provides: on the host, else extracted from the .deb. */
function debianBinary(bin: string, pkg: string, work: string): string {
  if (existsSync(bin)) return bin;
  const debs = join(work, 'debs');
  mkdirSync(debs, { recursive: true });
  const dl = spawnSync('apt-get', ['download', pkg], { cwd: debs, encoding: 'utf8' });
  if (dl.status !== 0) throw new Error(`${bin} is missing and \`apt-get download ${pkg}\` failed: ${dl.stderr}`);
  const deb = spawnSync('sh', ['-c', 'ls *.deb'], { cwd: debs, encoding: 'utf8' }).stdout.trim().split('\n')[0];
  run('dpkg-deb', ['-x', join(debs, deb), join(work, 'pkg')]);
  return join(work, 'pkg', bin);
}

/**
 * Starts redis-server the way the official image does: the image's command may be `redis-server`
 * with arguments (Testcontainers' RedisContainer passes `redis-server --requirepass ...`) or just
 * arguments; protected mode is off because the container's network is the boundary.
 */
const REDIS_ENTRYPOINT = `#!/bin/sh
if [ "$1" = redis-server ]; then shift; fi
case "$1" in /*.conf) conf="$1"; shift; exec /usr/bin/redis-server "$conf" "$@";; esac
exec /usr/bin/redis-server --protected-mode no --bind '* -::*' --dir /data "$@"
`;

/** Redis from Debian's redis-server (the host's, or the package's) and exactly its libraries. */
export async function buildRedis(): Promise<BuiltImage> {
  const work = mkdtempSync(join(tmpdir(), 'cola-redis-'));
  try {
    const bin = debianBinary('/usr/bin/redis-server', 'redis-server', work);
    const libs = sharedLibraries(bin);
    const hash = sha(['redis/1', REDIS_ENTRYPOINT, readFileSync(realpathSync(bin)), ...libs]);
    return await cached(IMAGES.redis, hash, async () => {
      const root = join(work, 'rootfs');
      minimalRoot(root, { name: 'redis', uid: 999 });
      place(root, bin, '/usr/bin/redis-server');
      for (const lib of libs) place(root, lib);
      writeFileSync(join(root, 'usr/bin/docker-entrypoint.sh'), REDIS_ENTRYPOINT, { mode: 0o755 });
      run('chown', ['999:999', join(root, 'data')]);
      await importDir(root, IMAGES.redis, [
        `LABEL ${HASH_LABEL}=${hash}`,
        'USER 999:999',
        'WORKDIR /data',
        'EXPOSE 6379',
        'ENTRYPOINT ["/usr/bin/docker-entrypoint.sh"]',
        'CMD ["redis-server"]',
      ]);
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Prometheus from Debian's `prometheus` package (the host's binary, or the package's). */
export async function buildPrometheus(): Promise<BuiltImage> {
  const work = mkdtempSync(join(tmpdir(), 'cola-prom-'));
  try {
    const bin = debianBinary('/usr/bin/prometheus', 'prometheus', work);
    const libs = sharedLibraries(bin);
    const hash = sha(['prometheus/1', readFileSync(realpathSync(bin)), ...libs]);
    return await cached(IMAGES.prometheus, hash, async () => {
      const root = join(work, 'rootfs');
      minimalRoot(root, { name: 'prometheus', uid: 65534 });
      place(root, bin, '/usr/bin/prometheus');
      for (const lib of libs) place(root, lib);
      mkdirSync(join(root, 'etc/prometheus'), { recursive: true });
      run('chown', ['65534:65534', join(root, 'data')]);
      await importDir(root, IMAGES.prometheus, [
        `LABEL ${HASH_LABEL}=${hash}`,
        'USER 65534:65534',
        'WORKDIR /data',
        'EXPOSE 9090',
        'ENTRYPOINT ["/usr/bin/prometheus"]',
        'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/data"]',
      ]);
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
