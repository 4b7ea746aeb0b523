/**
 * Containers of one test run on one Docker network, all labelled with the run's id so that
 * removal finds every one of them (and the network and volumes) even after a failure.
 */
import { randomBytes } from 'node:crypto';
import { docker } from '@cola/deploy';

/** How to start one container. */
export interface ContainerSpec {
  /** Container name suffix; the full name is `<run id>-<name>`, also its DNS name on the network. */
  name: string;
  image: string;
  /** Extra DNS name on the network (the Kubernetes Service name, e.g. `redis`). */
  alias?: string;
  env?: Record<string, string>;
  /** Overrides the image's command (CMD). */
  command?: string[];
  /** Container ports to publish on 127.0.0.1 at an ephemeral host port. */
  publish?: number[];
  /** `-v` mounts (`volume:/path`, `/host/dir:/path:ro`). */
  mounts?: string[];
  /** tmpfs mounts (`/tmp`), as the manifests' emptyDir volumes. */
  tmpfs?: string[];
  /** Run with a read-only root filesystem (the manifests' readOnlyRootFilesystem). */
  readOnly?: boolean;
  /** uid:gid (the manifests' runAsUser/runAsGroup). */
  user?: string;
}

/** A started container. */
export interface Container {
  readonly name: string;
  /** Host port on 127.0.0.1 of each published container port. */
  readonly ports: Map<number, number>;
}

const LABEL = 'io.cola-ftaas.test-run';

export class ContainerStack {
  /** The run's id: prefix of every name, value of the label. */
  readonly id = `cola-ct-${randomBytes(3).toString('hex')}`;
  readonly network = this.id;
  private readonly volumes: string[] = [];

  async createNetwork(): Promise<void> {
    await docker(['network', 'create', '--label', `${LABEL}=${this.id}`, this.network]);
  }

  /** A named volume of this run (removed by {@link removeAll}). */
  async volume(name: string): Promise<string> {
    const full = `${this.id}-${name}`;
    await docker(['volume', 'create', '--label', `${LABEL}=${this.id}`, full]);
    this.volumes.push(full);
    return full;
  }

  async run(spec: ContainerSpec): Promise<Container> {
    const name = `${this.id}-${spec.name}`;
    const args = ['run', '-d', '--name', name, '--label', `${LABEL}=${this.id}`, '--network', this.network];
    args.push('--network-alias', spec.name);
    if (spec.alias) args.push('--network-alias', spec.alias);
    for (const [k, v] of Object.entries(spec.env ?? {})) args.push('-e', `${k}=${v}`);
    for (const p of spec.publish ?? []) args.push('-p', `127.0.0.1::${p}`);
    for (const m of spec.mounts ?? []) args.push('-v', m);
    for (const t of spec.tmpfs ?? []) args.push('--tmpfs', t);
    if (spec.readOnly) args.push('--read-only');
    if (spec.user) args.push('--user', spec.user);
    args.push(spec.image, ...(spec.command ?? []));
    await docker(args);
    const ports = new Map<number, number>();
    for (const p of spec.publish ?? []) {
      const out = (await docker(['port', name, `${p}/tcp`])).stdout.trim().split('\n')[0] ?? '';
      ports.set(p, Number(out.slice(out.lastIndexOf(':') + 1)));
    }
    return { name, ports };
  }

  /** SIGKILL: the container dies at once, as on a node failure or OOM kill. */
  async kill(name: string): Promise<void> {
    await docker(['kill', '--signal', 'KILL', name]);
  }

  /** SIGTERM, then SIGKILL after `graceSeconds`; resolves with the exit code. */
  async stop(name: string, graceSeconds = 60): Promise<number> {
    await docker(['stop', '--time', String(graceSeconds), name]);
    return Number((await docker(['inspect', '--format', '{{.State.ExitCode}}', name])).stdout.trim());
  }

  async logs(name: string, tail = 40): Promise<string> {
    const res = await docker(['logs', '--tail', String(tail), name], { check: false });
    return `${res.stdout}${res.stderr}`;
  }

  /** Names of this run's containers, running or not. */
  async containers(): Promise<string[]> {
    const res = await docker(['ps', '-a', '--filter', `label=${LABEL}=${this.id}`, '--format', '{{.Names}}']);
    return res.stdout.split('\n').filter(Boolean);
  }

  /** Removes every container, the network and the volumes of this run; returns what is left. */
  async removeAll(): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
    const names = await this.containers();
    if (names.length > 0) await docker(['rm', '-f', '-v', ...names], { check: false });
    await docker(['network', 'rm', this.network], { check: false });
    if (this.volumes.length > 0) await docker(['volume', 'rm', '-f', ...this.volumes], { check: false });
    const left = async (what: string): Promise<string[]> =>
      (await docker([what, 'ls', '-q', '--filter', `label=${LABEL}=${this.id}`], { check: false })).stdout.split('\n').filter(Boolean);
    return { containers: await this.containers(), networks: await left('network'), volumes: await left('volume') };
  }
}
