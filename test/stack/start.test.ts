/**
 * `npm start` end to end: the local stack starts as child processes (its own redis-server when
 * one is installed), a reduced demo runs both tenants' jobs to success through the API, and
 * SIGINT (what Ctrl-C sends) stops everything: no service, no Redis and no Redis dir is left.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ENV } from '@cola/config';
import { removeDir, writeTinyCheckpoint } from '@cola/devstack';
import { initBackend } from '@cola/gl';
import { alive, StackProcess } from './support/stack-process';

/** The demo cut down to the tiny model's 32 positions and a few steps per job. */
const REDUCED_DEMO = [
  '--spam-train',
  '32',
  '--spam-eval',
  '16',
  '--lm-train',
  '8',
  '--lm-eval',
  '4',
  '--lm-chars',
  '100',
  '--batch-size',
  '8',
  '--max-length',
  '32',
];

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

describe('when a newcomer runs npm start', () => {
  let modelDir: string;
  let stack: StackProcess;

  before(async () => {
    await initBackend({ log: null });
    modelDir = await writeTinyCheckpoint(3);
    // With redis-server installed, exercise the embedded default (its own Redis); else REDIS_URL.
    // Through the real npm, as a newcomer runs it: the SIGINT at the end goes to the npm process.
    stack = new StackProcess(
      REDUCED_DEMO,
      { [ENV.MODEL_DIR]: modelDir, ...(hasRedisServer ? { [ENV.REDIS_URL]: undefined } : {}) },
      { viaNpm: true },
    );
  });

  after(async () => {
    // A failed assertion leaves the stack up: stop it the way Ctrl-C does, SIGKILL only as a last resort.
    if (stack.child.exitCode === null) {
      stack.child.kill('SIGINT');
      const timer = setTimeout(() => stack.child.kill('SIGKILL'), 30_000);
      await stack.exited();
      clearTimeout(timer);
    }
    removeDir(modelDir);
  });

  it('should start every service, run both demo jobs to success, and stop cleanly on SIGINT', { timeout: 300_000 }, async () => {
    await stack.waitFor(/The stack is up/, 180_000);
    await stack.waitFor(/Ctrl-C stops everything/, 10_000);
    const up = stack.output;
    for (const url of ['/v1', '/docs', '/status'])
      assert.match(up, new RegExp(`http://127\\.0\\.0\\.1:\\d+${url}`), `prints the ${url} URL`);
    const services = [...up.matchAll(/^\s+(gpu-host|aux-trainer-\d|merger|gateway)\s+pid (\d+)\s+(http\S+)/gm)].map((m) => ({
      name: m[1]!,
      pid: Number(m[2]),
      metrics: m[3]!,
    }));
    assert.deepEqual(services.map((s) => s.name).sort(), ['aux-trainer-1', 'aux-trainer-2', 'gateway', 'gpu-host', 'merger']);
    for (const s of services) assert.ok(alive(s.pid), `${s.name} runs`);
    const gateway = services.find((s) => s.name === 'gateway')!;
    assert.match(gateway.metrics, /\/metrics$/);
    for (const s of services) assert.equal((await fetch(s.metrics)).status, 200, `${s.name}: ${s.metrics} answers`);
    // The workers log warnings only by default (quiet next to the demo's bars); what they print is prefixed.
    assert.match(up, /^\[(gpu-host|aux-trainer-\d|merger|gateway)\]\s+\{/m, 'service logs carry a per-service prefix');
    const redis = /redis-server pid (\d+) on port \d+, data in (\S+)/.exec(up);
    assert.match(up, /append-only file, fsync every second/, 'its Redis is durable');
    if (hasRedisServer) assert.ok(redis && alive(Number(redis[1])) && existsSync(redis[2]!), 'its own redis-server runs in a temp dir');

    await stack.waitFor(/demo complete\.|the demo failed/, 240_000);
    const out = stack.output;
    assert.doesNotMatch(out, /the demo failed/, stack.tail(40));
    // Both jobs succeeded (the demo throws otherwise); the table has before and after of each.
    const table = /tenant\s+aux\s+metric[^\n]*\n[─ ]+\n([^\n]+)\n([^\n]+)/.exec(out);
    assert.ok(table, `summary table printed:\n${stack.tail(30)}`);
    assert.match(table[1]!, /^spam-filter-\w+\s+lowrank\s+accuracy\s+[\d.]+% → [\d.]+%\s+\d+\s+[\d.]+ [KMG]?B\s+\d+\s+[\d.]+%$/);
    assert.match(table[2]!, /^mail-writer-\w+\s+linear\s+perplexity\s+[\d.]+ → [\d.]+\s+\d+\s+[\d.]+ [KMG]?B\s+\d+\s+[\d.]+%$/);
    assert.equal((out.match(/[✓✗] (ham|spam)/g) ?? []).length, 4, 'four sample e-mails classified through the API');
    // The services' /metrics give the measured ratio of docs/observability.md.
    assert.match(
      out,
      /communication overhead, measured on this machine \(services' \/metrics, both jobs\): \d+\.\d% = \(encode \d+ ms \+ write \d+ ms \+ adapt-queue wait \d+ ms \+ decode \d+ ms\) \/ host steps [1-9]\d* ms/,
    );
    // Progress lines (one per job every few seconds off a terminal; bars on one): the last ones show the finished jobs.
    for (const tenant of ['spam-filter', 'mail-writer']) {
      const lines = out.split('\n').filter((l) => l.startsWith(`${tenant} `) && /step \d+\/\S+/.test(l));
      assert.ok(lines.length >= 2, `progress of ${tenant}:\n${stack.tail(40)}`);
      assert.match(lines[lines.length - 1]!, /succeeded +step (\d+)\/\1 +loss [\d.]+ .*[\d.]+ [KMG]?B moved/);
    }

    stack.child.kill('SIGINT');
    assert.equal(await stack.exited(), 0);
    assert.match(stack.output, /stopped: every service and the Redis we started have exited/);
    const pids = [...services.map((s) => s.pid), ...(redis ? [Number(redis[1])] : [])];
    assert.deepEqual(pids.filter(alive), [], 'no child process is left');
    if (redis) assert.equal(existsSync(redis[2]!), false, 'the Redis temp dir is removed');
  });
});

/** The pids `npm start` printed for its services and its Redis, and the Redis dir. */
function printedProcesses(out: string): { pids: number[]; services: Map<string, number>; redisDir: string | undefined } {
  const services = new Map(
    [...out.matchAll(/^\s+(gpu-host|aux-trainer-\d|merger|gateway)\s+pid (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]),
  );
  const redis = /redis-server pid (\d+) on port \d+, data in (\S+)/.exec(out);
  return { pids: [...services.values(), ...(redis ? [Number(redis[1])] : [])], services, redisDir: redis?.[2] };
}

async function allGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  return pids.filter(alive);
}

for (const signal of ['SIGTERM'] as const) {
  describe(`when ${signal} is sent to the npm process of npm start`, { skip: !hasRedisServer && 'needs redis-server' }, () => {
    let modelDir: string;
    let stack: StackProcess;

    before(async () => {
      modelDir = await writeTinyCheckpoint(3);
      stack = new StackProcess([], { [ENV.MODEL_DIR]: modelDir, [ENV.REDIS_URL]: undefined, [ENV.COLA_DEMO]: '0' }, { viaNpm: true });
    });

    after(async () => {
      const { pids } = printedProcesses(stack.output);
      for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
      if (stack.child.exitCode === null) stack.child.kill('SIGKILL');
      removeDir(modelDir);
    });

    it(
      'should restart a killed service, then stop every service and Redis, leave no orphan and remove the temp dir',
      { timeout: 600_000 },
      async () => {
        await stack.waitFor(/Ctrl-C stops everything/, 450_000);
        const { pids, services, redisDir } = printedProcesses(stack.output);
        assert.equal(services.size, 5, stack.tail(20));
        assert.ok(redisDir && existsSync(redisDir));
        // A service that dies is restarted by the supervisor, with a log line, under a new pid.
        process.kill(services.get('merger')!, 'SIGKILL');
        const [, pid] = await stack.waitFor(/merger restarted as pid (\d+)/, 120_000);
        assert.match(stack.output, /merger exited unexpectedly \(killed by a signal\); restarting in \d+ ms/);
        pids.push(Number(pid));
        stack.child.kill(signal);
        await stack.exited();
        assert.deepEqual(await allGone(pids, 30_000), [], `no orphan is left:\n${stack.tail(20)}`);
        assert.equal(existsSync(redisDir), false, 'the Redis temp dir is removed');
      },
    );
  });
}
