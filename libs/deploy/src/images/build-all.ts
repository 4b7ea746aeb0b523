import { docker, engineReachable, imageLabel, imageSize } from './docker-cli';
import { HASH_LABEL, IMAGES } from './image-names';
import { buildServiceImages, stageDependencies } from './app-images';
import { buildNodeBase, buildPrometheus, buildRedis, type BuiltImage } from './rootfs-images';

/** One row of the build report. */
export interface ImageReport extends BuiltImage {
  /** Image size as the engine reports it, bytes. */
  readonly bytes: number;
}

/** Options for {@link buildAllImages}. */
export interface BuildAllOptions {
  /** Repository root. */
  root: string;
  /** Print the builder's output. */
  echo?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/**
 * Builds (or reuses, when their content hash is unchanged) every image: the Debian node base,
 * Redis, Prometheus and the four services. Needs a reachable engine (DOCKER_HOST is honoured).
 */
export async function buildAllImages(opts: BuildAllOptions): Promise<ImageReport[]> {
  const log = opts.log ?? (() => undefined);
  if (!engineReachable()) {
    throw new Error('No Docker engine answers (set DOCKER_HOST, or start one: see deploy/README.md, "Build the images").');
  }
  const rows: BuiltImage[] = [];
  log(`node base ${IMAGES.nodeBase} (debootstrap trixie + nodejs) ...`);
  rows.push(await buildNodeBase());
  log(`redis ${IMAGES.redis} ...`);
  rows.push(await buildRedis());
  log(`prometheus ${IMAGES.prometheus} ...`);
  rows.push(await buildPrometheus());
  log('production dependencies (npm ci --omit=dev on the host) ...');
  const deps = stageDependencies(opts.root);
  log(`  ${deps.staged ? 'staged' : 'unchanged'} in ${(deps.ms / 1000).toFixed(1)} s`);
  const baseHash = (await imageLabel(IMAGES.nodeBase, HASH_LABEL)) ?? '';
  log('service images ...');
  rows.push(...(await buildServiceImages({ root: opts.root, depsHash: deps.hash, baseHash, echo: opts.echo })));
  const out: ImageReport[] = [];
  for (const r of rows) out.push({ ...r, bytes: await imageSize(r.image) });
  // Dangling layers of replaced builds would pile up on vfs storage, where each is a full copy.
  await docker(['image', 'prune', '-f'], { check: false });
  return out;
}

/** The report as a table. */
export function formatReport(rows: readonly ImageReport[]): string {
  const lines = ['image                                    | action  | time (s) | size (MB)', '-'.repeat(78)];
  for (const r of rows) {
    lines.push(
      `${r.image.padEnd(40)} | ${(r.built ? 'built' : 'reused').padEnd(7)} | ${(r.ms / 1000).toFixed(1).padStart(8)} | ${(r.bytes / 1e6).toFixed(1).padStart(9)}`,
    );
  }
  return lines.join('\n');
}
