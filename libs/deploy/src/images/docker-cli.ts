import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Result of one docker CLI call. */
export interface DockerResult {
  /** Exit code (null when killed by a signal). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for {@link docker}. */
export interface DockerOptions {
  /** Bytes written to the command's stdin (e.g. a tar stream for `docker import -`). */
  input?: NodeJS.ReadableStream;
  /** Throw when the exit code is not 0. Default true. */
  check?: boolean;
  /** Print the command's output as it runs (long builds). Default false. */
  echo?: boolean;
  /** Extra environment, e.g. DOCKER_BUILDKIT. DOCKER_HOST is always honoured from process.env. */
  env?: Record<string, string>;
}

/**
 * The docker CLI. Builds need BuildKit (it skips the Dockerfile's unselected dependency stage):
 * a CLI of 23 or newer has it only through the buildx plugin, while Debian's docker.io CLI (20.10,
 * /usr/bin/docker) has it built in. So: `docker` when buildx answers, else Debian's CLI when
 * present. Every call reads DOCKER_HOST from the environment.
 */
export const DOCKER_BIN = pickDockerBin();

function pickDockerBin(): string {
  if (spawnSync('docker', ['buildx', 'version'], { stdio: 'ignore', timeout: 10_000 }).status === 0) return 'docker';
  return existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
}

/** Runs `docker ...args`; resolves with its output. */
export function docker(args: readonly string[], opts: DockerOptions = {}): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(DOCKER_BIN, args, {
      env: { ...process.env, DOCKER_BUILDKIT: '1', ...opts.env },
      stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.echo) process.stdout.write(d);
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (opts.echo) process.stderr.write(d);
    });
    if (opts.input && child.stdin) opts.input.pipe(child.stdin);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 && opts.check !== false) {
        reject(new Error(`docker ${args.join(' ')} exited ${code}: ${stderr.trim().slice(-2000)}`));
      } else resolve({ code, stdout, stderr });
    });
  });
}

/** True when the docker CLI reaches an engine within a few seconds. */
export function engineReachable(): boolean {
  const res = spawnSync(DOCKER_BIN, ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 10_000 });
  return res.status === 0 && res.stdout.trim().length > 0;
}

/** A label of a local image, or undefined when the image (or label) does not exist. */
export async function imageLabel(image: string, label: string): Promise<string | undefined> {
  const res = await docker(['image', 'inspect', '--format', `{{ index .Config.Labels "${label}" }}`, image], { check: false });
  if (res.code !== 0) return undefined;
  const value = res.stdout.trim();
  return value === '' || value === '<no value>' ? undefined : value;
}

/** Size of a local image in bytes. */
export async function imageSize(image: string): Promise<number> {
  const res = await docker(['image', 'inspect', '--format', '{{.Size}}', image]);
  return Number(res.stdout.trim());
}
