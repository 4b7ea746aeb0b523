import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Options for {@link isDockerReachable}. */
export interface DockerProbeOptions {
  /** Give up after this long and answer false. Default 2 000 ms. */
  timeoutMs?: number;
  /**
   * Environment to look for hints in (DOCKER_HOST, HOME, XDG_RUNTIME_DIR). Default `process.env`.
   * Testcontainers itself always reads `process.env`.
   */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Places where a container runtime announces itself. Testcontainers knows more strategies, but
 * each of them needs one of these hints; without any, there is nothing to ask.
 */
export function dockerHints(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const hints: string[] = [];
  if (env.DOCKER_HOST) hints.push(`DOCKER_HOST=${env.DOCKER_HOST}`);
  const home = env.HOME ?? homedir();
  // The same places testcontainers 11 looks at (unix, rootless and properties-file strategies).
  const files = [
    join(home, '.testcontainers.properties'),
    '/var/run/docker.sock',
    ...(env.XDG_RUNTIME_DIR ? [join(env.XDG_RUNTIME_DIR, 'docker.sock')] : []),
    join(home, '.docker', 'run', 'docker.sock'),
    join(home, '.docker', 'desktop', 'docker.sock'),
    ...(typeof process.getuid === 'function' ? [join('/run', 'user', String(process.getuid()), 'docker.sock')] : []),
  ];
  for (const f of files) if (existsSync(f)) hints.push(f);
  // Docker Desktop on Windows listens on a named pipe that existsSync cannot see: always ask.
  if (process.platform === 'win32') hints.push('npipe:////./pipe/docker_engine');
  return hints;
}

/**
 * Decides quickly whether Testcontainers can reach a container engine.
 *
 * With no hint at all (the common case on a laptop without Docker and in our CI) it answers
 * false at once, without even loading testcontainers (~0.6 s). Otherwise it asks testcontainers'
 * own runtime detection, which knows every strategy (sockets, DOCKER_HOST, properties file,
 * rootless, ...), and stops waiting after `timeoutMs`: a DOCKER_HOST pointing at a host that
 * drops packets would otherwise hang for a TCP timeout.
 */
export async function isDockerReachable(opts: DockerProbeOptions = {}): Promise<boolean> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  if (dockerHints(opts.env).length === 0) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  const probe = (async (): Promise<boolean> => {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
      return true;
    } catch {
      return false;
    }
  })();
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
