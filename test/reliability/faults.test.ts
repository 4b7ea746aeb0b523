/**
 * The reliability suite (`npm run test:reliability`): faults injected into real processes while
 * jobs run, each service supervised (restarted with backoff) as `npm start` and Kubernetes do,
 * Redis durable with an append-only file. For every fault: the job succeeds, no fit task is lost
 * or applied twice (counted from the aux store's applied index), the final weights match a clean
 * single-process run, and the gateway answers 503 while it cannot serve. The figures are printed
 * as `reliability: {...}` lines; docs/reliability.md reports them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '@cola/gl';
import { HOST_ABORT_EXIT_CODE } from '@cola/pipeline';
import { FaultRig, type JobAudit } from './support/fault-rig';

/**
 * A restart can change the order in which fit tasks of different jobs interleave, never the
 * order within a job (the aux head only moves seq by seq), so the final weights equal the clean
 * run's up to float rounding of the single-process reference vs the split host/trainer steps:
 * the bound the pipeline's own "SIGKILL loses nothing" tests use.
 */
const TOLERANCE = 1e-4;

const figures: Record<string, unknown>[] = [];
function report(fault: string, audit: JobAudit, extra: Record<string, unknown> = {}): void {
  const row = { fault, ...audit, ...extra };
  figures.push(row);
  console.log(`reliability: ${JSON.stringify(row)}`);
}

function assertClean(a: JobAudit): void {
  assert.equal(a.status, 'succeeded', `${a.jobId} succeeded`);
  assert.equal(a.lost, 0, `${a.jobId}: no batch lost`);
  assert.equal(a.appliedTwice, 0, `${a.jobId}: no batch applied twice`);
  assert.equal(a.headVersion, a.numTasks, `${a.jobId}: one version per fit task`);
  assert.ok(a.relativeError <= TOLERANCE, `${a.jobId}: relative error ${a.relativeError} to the clean run`);
}

describe('when faults hit the pipeline while jobs run', () => {
  const rig = new FaultRig();
  let baseline = 0;
  let peak = 0;
  let sampler: NodeJS.Timeout | undefined;

  before(async () => {
    await initBackend({ log: null });
    await rig.start();
    baseline = await rig.usedMemory();
    sampler = setInterval(() => {
      void rig.usedMemory().then(
        (m) => (peak = Math.max(peak, m)),
        () => undefined,
      );
    }, 250);
  });

  after(async () => {
    if (sampler) clearInterval(sampler);
    console.log(`reliability: ${JSON.stringify({ summary: true, faults: figures.length, supervisorLines: rig.supervisorLines })}`);
    await rig.stop();
  });

  it('should lose nothing when aux-trainers are SIGKILLed again and again, each restarted by the supervisor', async () => {
    const job = rig.job('job-trainers');
    await rig.submit(job);
    let kills = 0;
    for (const [version, name] of [
      [3, 'aux-trainer-1'],
      [8, 'aux-trainer-2'],
      [14, 'aux-trainer-1'],
    ] as const) {
      await rig.untilVersion(job.jobId, version);
      await rig.stack.services.get(name)!.kill();
      kills++;
    }
    assert.equal(await rig.stack.waitForFinal(job.jobId), 'succeeded');
    const restarts = rig.stack.supervisors.get('aux-trainer-1')!.restarts + rig.stack.supervisors.get('aux-trainer-2')!.restarts;
    const a = await rig.audit(job.jobId);
    report('SIGKILL aux-trainer x3', a, { kills, restarts });
    assertClean(a);
  });

  it('should resume a job on the restarted gpu-host after a SIGKILL, with nothing lost', async () => {
    const job = rig.job('job-host');
    await rig.submit(job);
    await rig.untilVersion(job.jobId, 5);
    const t0 = Date.now();
    await rig.stack.services.get('gpu-host')!.kill();
    assert.equal(await rig.stack.waitForFinal(job.jobId, 300_000), 'succeeded');
    const a = await rig.audit(job.jobId);
    report('SIGKILL gpu-host', a, { restarts: rig.stack.supervisors.get('gpu-host')!.restarts, recoveredInMs: Date.now() - t0 });
    assertClean(a);
  });

  it('should resume the job on the restarted gpu-host after its backend wedges, reporting the missing host meanwhile', async () => {
    const job = rig.job('job-wedge');
    await rig.submit(job);
    await rig.untilVersion(job.jobId, 5);
    const supervisor = rig.stack.supervisors.get('gpu-host')!;
    const exited = new Promise<number | null>((resolve) => supervisor.once('exited', (e) => resolve(e.code)));
    const restarted = new Promise<void>((resolve) => supervisor.once('restarted', () => resolve()));
    // Readiness and the host's liveness, sampled from the wedge until the restarted host beats again.
    const readiness: { status: number; gpuHost: string }[] = [];
    const liveness: number[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const [r, l] = await Promise.all([rig.readinessBody(), rig.liveness('gpu-host')]);
        readiness.push({ status: r.status, gpuHost: r.body.fleets?.['gpu-host'] ?? `status ${r.body.status ?? '?'}` });
        liveness.push(l);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const t0 = Date.now();
    rig.wedgeHost();
    const code = await exited;
    await restarted;
    const restartedInMs = Date.now() - t0;
    // Ready and whole again once the restarted host's first heartbeat is in.
    const deadline = Date.now() + 60_000;
    while ((await rig.readinessBody()).body.status !== 'ok' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    watching = false;
    await watch;
    assert.equal(await rig.stack.waitForFinal(job.jobId, 300_000), 'succeeded');
    const a = await rig.audit(job.jobId);
    const degraded = readiness.filter((r) => r.status === 200 && /no live instance/.test(r.gpuHost)).length;
    report('wedged gpu-host backend (every matMul aborts)', a, {
      exitCode: code,
      restarts: supervisor.restarts,
      restartedInMs,
      readyzSamples: readiness.length,
      readyzDegradedSamples: degraded,
      readyz503Samples: readiness.filter((r) => r.status === 503).length,
      hostLiveness503Samples: liveness.filter((l) => l === 503).length,
    });
    assert.equal(code, HOST_ABORT_EXIT_CODE, 'the wedged host exited with the backend-abort code, to be restarted');
    assert.ok(degraded > 0, `readiness named the missing gpu-host while it restarted: ${JSON.stringify(readiness.slice(0, 5))}`);
    assert.equal((await rig.readinessBody()).body.status, 'ok', 'ready and whole again after the restart');
    assertClean(a);
  });

  it('should keep training and serve again after the merger is SIGKILLed and restarted', async () => {
    const job = rig.job('job-merger');
    await rig.submit(job);
    await rig.untilVersion(job.jobId, 5);
    await rig.stack.services.get('merger')!.kill();
    assert.equal(await rig.stack.waitForFinal(job.jobId), 'succeeded');
    // Restarted: the gateway's readiness (which asks the merger) comes back.
    const deadline = Date.now() + 120_000;
    while ((await rig.readiness()) !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.equal(await rig.readiness(), 200, 'the gateway is ready again once the merger is back');
    const a = await rig.audit(job.jobId);
    report('SIGKILL merger', a, { restarts: rig.stack.supervisors.get('merger')!.restarts });
    assertClean(a);
  });

  it('should lose no tenant data, job or batch when Redis is SIGKILLed and restarted from its AOF, answering 503 meanwhile', async () => {
    const job = rig.job('job-redis-kill');
    await rig.submit(job);
    await rig.untilVersion(job.jobId, 6);
    const keysBefore = await rig.conn.dbsize();
    await rig.redis.kill();
    const whileDown = await rig.readiness();
    await new Promise((r) => setTimeout(r, 2000));
    await rig.redis.start();
    assert.equal(await rig.stack.waitForFinal(job.jobId, 300_000), 'succeeded');
    const rec = await rig.stack.jobs.get(job.jobId);
    assert.ok(rec, 'the job record survived');
    assert.ok(await rig.conn.exists(`cola:upload:${job.jobId}-train`), 'the upload survived');
    const a = await rig.audit(job.jobId);
    report('SIGKILL Redis, restart from AOF', a, { readyzWhileDown: whileDown, keysBeforeKill: keysBefore });
    assert.equal(whileDown, 503);
    assertClean(a);
  });

  it('should ride out Redis being unreachable for 10 s, answering 503 meanwhile', async () => {
    const job = rig.job('job-redis-freeze');
    await rig.submit(job);
    await rig.untilVersion(job.jobId, 6);
    let whileDown = -1;
    await rig.redis.freeze(10_000, async () => {
      await new Promise((r) => setTimeout(r, 1000));
      whileDown = await rig.readiness();
    });
    assert.equal(await rig.stack.waitForFinal(job.jobId, 300_000), 'succeeded');
    const a = await rig.audit(job.jobId);
    report('Redis unreachable 10 s (SIGSTOP)', a, { readyzWhileDown: whileDown });
    assert.equal(whileDown, 503);
    assertClean(a);
  });

  it('should give Redis memory back once the jobs are done, and leave no transient key without a TTL', async () => {
    const after = await rig.usedMemory();
    // Bytes per key family (MEMORY USAGE): what stays is durable state, what went was transient.
    const { families, withoutTtl: leftovers } = await rig.keyFamilies();
    const auxVersions = families['cola:aux:{job}:v<n>']?.keys ?? 0;
    const jobs = figures.length;
    console.log(
      `reliability: ${JSON.stringify({ memory: true, baselineBytes: baseline, peakBytes: peak, afterBytes: after, auxVersionsLeft: auxVersions, jobs, families })}`,
    );
    assert.deepEqual(leftovers, [], 'every transient key has a TTL');
    assert.equal((await rig.conn.keys('cola:payload:*')).length, 0, 'every payload was consumed or withdrawn');
    assert.equal(auxVersions, jobs, 'a finished job keeps exactly one aux version, its head');
    assert.ok(peak >= after, `peak ${peak} >= after ${after}`);
  });
});
