import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { ENV } from '@cola/config';
import { PipelineStack, removeDir, writeTinyCheckpoint } from '@cola/devstack';
import { AuxStateStore } from '@cola/store';
import { freePort, ServiceProcess, startLocalRedisServer, type LocalRedisServer } from '@cola/testing';
import {
  finalParams,
  jobFiles,
  jobSpec,
  LOWRANK,
  referenceParams,
  relativeError,
  spamSample,
  type TestJob,
} from '../../support/pipeline-fixtures';

/** Redis with an append-only file (fsync every second) in a dir we keep, on a port we keep, so it can be killed and restarted. */
export class DurableRedis {
  server: LocalRedisServer | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'cola-reliability-redis-'));
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.server = await startLocalRedisServer({
      port: this.port,
      dir: this.dir,
      args: ['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''],
    });
  }

  /** SIGKILL: no shutdown, no final fsync. Acknowledged writes are in the AOF file's page cache. */
  async kill(): Promise<void> {
    const pid = this.server!.pid;
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
    await this.server!.stop();
  }

  /** SIGSTOP for `ms`, then SIGCONT: connections stay open but nothing answers (a network partition). */
  async freeze(ms: number, during?: () => Promise<void>): Promise<void> {
    const pid = this.server!.pid;
    process.kill(pid, 'SIGSTOP');
    const until = Date.now() + ms;
    try {
      await during?.();
      while (Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What one faulted job came to: counted from the aux store's applied index, not from logs. */
export interface JobAudit {
  jobId: string;
  status: string | null;
  numTasks: number;
  headVersion: number;
  /** Fit tasks with no version that applied them. */
  lost: number;
  /** Fit tasks applied by a version other than seq + 1, plus versions beyond the number of tasks. */
  appliedTwice: number;
  /** ||final - clean|| / ||clean|| over every aux parameter. */
  relativeError: number;
}

/** Options of {@link FaultRig}. */
export interface FaultRigOptions {
  /** Extra environment of every pipeline service (e.g. a short retention). */
  env?: Record<string, string>;
}

/** Bytes and key count of one key family (ids folded: `cola:job:<id>:events`, `cola:aux:{job}:v<n>`...). */
export type KeyFamilies = Record<string, { keys: number; bytes: number }>;

/** The admin key of the rig's gateway. */
const ADMIN_KEY = 'admin-key-of-the-reliability-suite';

/** The pipeline (supervised), a gateway and a durable Redis, plus the jobs and the clean reference. */
export class FaultRig {
  readonly redis = new DurableRedis();
  stack!: PipelineStack;
  gateway!: ServiceProcess;
  gatewayUrl = '';
  modelDir = '';
  readonly data = spamSample(192, 16);
  readonly base: Omit<TestJob, 'jobId' | 'tenantId'> = { aux: LOWRANK, batchSize: 8, maxLength: 32, lr: 5e-3, seed: 3 };
  /** 192 rows / batch 8: one fit task per batch. */
  readonly numTasks = 24;
  private reference: Map<string, Float32Array> | undefined;
  readonly supervisorLines: string[] = [];

  constructor(private readonly opts: FaultRigOptions = {}) {}

  async start(): Promise<void> {
    await this.redis.start();
    this.modelDir = await writeTinyCheckpoint(2);
    this.stack = new PipelineStack({
      redisUrl: this.redis.url,
      modelDir: this.modelDir,
      // Short task locks: a killed trainer's task is taken over in seconds, not BullMQ's 30 s;
      // and a short jobs lock: a SIGKILLed host's job resumes on its restart after 15 s, not the default's 2 min.
      env: { COLA_AUX_LOCK_MS: '2000', COLA_HOST_JOB_LOCK_MS: '15000', ...this.opts.env },
      supervise: true,
      supervisorLog: (line) => {
        this.supervisorLines.push(line);
        if (process.env.COLA_TEST_VERBOSE) process.stderr.write(`[supervisor] ${line}\n`);
      },
    });
    // The gpu-host carries a fault injector that wedges its backend when asked (wedgeHost()).
    const injector = pathToFileURL(join(fileURLToPath(new URL('.', import.meta.url)), 'wedge-on-trigger.mjs')).href;
    await this.stack.startAll(2, {
      'gpu-host': {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${injector}`.trim(),
        [ENV.COLA_TEST_WEDGE_TRIGGER]: this.wedgeTrigger,
      },
    });
    const port = await freePort();
    this.gatewayUrl = `http://127.0.0.1:${port}`;
    this.gateway = new ServiceProcess({
      name: 'gateway',
      app: 'gateway',
      env: {
        [ENV.REDIS_URL]: this.redis.url,
        [ENV.GATEWAY_PORT]: String(port),
        [ENV.MERGER_ADDRESS]: this.stack.mergerAddress,
        [ENV.GATEWAY_ADMIN_KEY]: ADMIN_KEY,
        [ENV.LOG_LEVEL]: 'warn',
      },
      healthUrl: `${this.gatewayUrl}/readyz`,
      log: process.env.COLA_TEST_VERBOSE ? undefined : () => undefined,
    });
    await this.gateway.start();
  }

  get conn(): Redis {
    return this.stack.redis;
  }

  /** The same job as every other (same data, seed and options), under its own id and tenant. */
  job(jobId: string): TestJob {
    return { ...this.base, jobId, tenantId: `tenant-${jobId}` };
  }

  async submit(job: TestJob): Promise<void> {
    await this.stack.submit(jobSpec(job, this.data.labels), jobFiles(job, this.data));
  }

  /** Resolves once the job's aux head reached `version` (the job is under way). */
  async untilVersion(jobId: string, version: number, timeoutMs = 180_000): Promise<void> {
    const aux = new AuxStateStore(this.conn);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const head = await aux.head(jobId).catch(() => null);
      if (head !== null && head >= version) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`job ${jobId} never reached aux version ${version}`);
  }

  /** Status, batches lost and applied twice, and the distance of the final weights to the clean run's. */
  async audit(jobId: string): Promise<JobAudit> {
    const aux = new AuxStateStore(this.conn);
    let lost = 0;
    let twice = 0;
    for (let seq = 0; seq < this.numTasks; seq++) {
      const v = await aux.appliedVersion(jobId, seq);
      if (v === null) lost++;
      else if (v !== seq + 1) twice++;
    }
    const final = await finalParams(this.conn, jobId);
    twice += Math.max(0, final.version - this.numTasks);
    this.reference ??= await referenceParams(this.modelDir, this.job('reference'), this.data);
    return {
      jobId,
      status: await this.stack.jobs.status(jobId),
      numTasks: this.numTasks,
      headVersion: final.version,
      lost,
      appliedTwice: twice,
      relativeError: relativeError(final.values, this.reference),
    };
  }

  /** GET /readyz's HTTP status, or 0 when the gateway does not answer within 3 s. */
  async readiness(): Promise<number> {
    return fetch(`${this.gatewayUrl}/readyz`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.status,
      () => 0,
    );
  }

  /** The file whose appearance wedges the gpu-host's backend. */
  get wedgeTrigger(): string {
    return join(this.redis.dir, 'wedge-trigger');
  }

  /** Wedges the running gpu-host's compute backend: from its next host step every matMul aborts (once; its restart is sound). */
  wedgeHost(): void {
    writeFileSync(this.wedgeTrigger, '');
  }

  /** GET /readyz of the gateway: its HTTP status and JSON body (status 0 when it does not answer within 3 s). */
  async readinessBody(): Promise<{ status: number; body: { status?: string; fleets?: Record<string, string> } }> {
    try {
      const res = await fetch(`${this.gatewayUrl}/readyz`, { signal: AbortSignal.timeout(3000) });
      return { status: res.status, body: (await res.json()) as { status?: string; fleets?: Record<string, string> } };
    } catch {
      return { status: 0, body: {} };
    }
  }

  /** GET /healthz (liveness) of a pipeline service: its HTTP status, 0 when it does not answer. */
  async liveness(service: string): Promise<number> {
    return fetch(this.stack.services.get(service)!.opts.healthUrl!, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status,
      () => 0,
    );
  }

  /** A gateway call as a tenant (or the admin); the parsed JSON answer, or throws with the API error. */
  async api<T>(method: string, path: string, key: string, body?: unknown | FormData): Promise<T> {
    const json = body !== undefined && !(body instanceof FormData);
    const res = await fetch(`${this.gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(json ? { 'content-type': 'application/json' } : {}) },
      body: json ? JSON.stringify(body) : (body as FormData | undefined),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** Creates a tenant through the admin API; returns its API key. */
  async createTenant(id: string): Promise<string> {
    const t = await this.api<{ api_key: { key: string } }>('POST', '/v1/admin/tenants', ADMIN_KEY, { id, name: id });
    return t.api_key.key;
  }

  /** Uploads a JSONL file as a tenant; returns its file id. */
  async upload(key: string, filename: string, jsonl: string): Promise<string> {
    const form = new FormData();
    form.append('purpose', 'fine-tune');
    form.append('file', new Blob([jsonl], { type: 'application/jsonl' }), filename);
    return (await this.api<{ id: string }>('POST', '/v1/files', key, form)).id;
  }

  /** Bytes per key family (`MEMORY USAGE`), and the transient keys (payloads, heartbeats) that have no TTL. */
  async keyFamilies(): Promise<{ families: KeyFamilies; withoutTtl: string[] }> {
    const families: KeyFamilies = {};
    const withoutTtl: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await this.conn.scan(cursor, 'MATCH', 'cola:*', 'COUNT', 1000);
      cursor = next;
      for (const k of found) {
        const family = k
          .replace(/\{[^}]*\}/, '{job}')
          .replace(/:v\d+$/, ':v<n>')
          .replace(/^(cola:(?:job|upload|payload|tenant|served|apikey)):[^:]+/, '$1:<id>')
          .replace(/^(cola:payload:<id>):\d+(:r\d+)?$/, '$1:<seq>')
          .replace(/:checkpoint:\d+$/, ':checkpoint:<step>')
          .replace(/^(cola:q:[^:]+):[^:]*\d[^:]*$/, '$1:<bull job>');
        const f = (families[family] ??= { keys: 0, bytes: 0 });
        f.keys++;
        // SAMPLES 0: every element counted (the default samples 5 and underestimates streams and hashes).
        f.bytes += (await this.conn.memory('USAGE', k, 'SAMPLES', 0)) ?? 0;
        if (/^cola:payload:|^cola:heartbeats:/.test(k) && (await this.conn.ttl(k)) < 0) withoutTtl.push(k);
      }
    } while (cursor !== '0');
    return { families, withoutTtl };
  }

  /** Redis' own account of its memory (INFO memory): dataset, overhead, scripts, client buffers, AOF buffer. */
  async memoryBreakdown(): Promise<Record<string, number>> {
    const info = await this.conn.info('memory');
    const out: Record<string, number> = {};
    for (const f of [
      'used_memory',
      'used_memory_dataset',
      'used_memory_overhead',
      'used_memory_scripts',
      'mem_clients_normal',
      'mem_aof_buffer',
    ]) {
      const m = new RegExp(`^${f}:(\\d+)`, 'm').exec(info);
      if (m) out[f] = Number(m[1]);
    }
    return out;
  }

  /** Redis `used_memory` in bytes. */
  async usedMemory(): Promise<number> {
    const info = await this.conn.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)![1]);
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
    await this.stack?.stop();
    await this.redis.stop();
    if (this.modelDir) removeDir(this.modelDir);
  }
}
