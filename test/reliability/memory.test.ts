/**
 * Redis memory after jobs: tenants create jobs through the gateway, as a user would, on a stack
 * whose queue retention is short; once the jobs finished and the retention passed, Redis'
 * `used_memory` must be back within 10% of its baseline.
 *
 * The baseline is the stack with the tenants and their uploaded files present, after one warm-up
 * job of its own tenant ran and its retention passed. Files are durable tenant data (they stay
 * until the tenant deletes them), so memory never falls below them; the warm-up job makes Redis
 * hold what any stack that has run a job holds for good: the queues' Lua scripts, compiled on
 * first use, and a latency histogram per command name (Redis 7's `latency-tracking`). Neither
 * grows with the number of jobs.
 *
 * What a job adds and keeps for good is its result: its record, events, evaluation, adapter (the
 * aux head), served deltas and checkpoint, some 40 KB each here, inside the 10%. Everything else
 * (payloads, superseded aux versions, queue records and events) must be gone. The figures are
 * printed as a `reliability: {...}` line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toJsonl } from '@cola/data';
import { initBackend } from '@cola/gl';
import { FaultRig } from './support/fault-rig';

/** Seconds finished queue records and queue events are kept: short, so the test can wait it out. */
const RETENTION_SECONDS = 5;
const TENANTS = 3;

/** The gateway's job request of the suite's job (the same data, seed and options as every rig job). */
function jobRequest(rig: FaultRig, t: { training: string; validation: string }): Record<string, unknown> {
  return {
    model: 'cola-tiny',
    training_file: t.training,
    validation_file: t.validation,
    hyperparameters: { n_epochs: 1, batch_size: rig.base.batchSize, learning_rate: rig.base.lr, max_length: rig.base.maxLength },
    seed: rig.base.seed,
  };
}

/** Two sweeps after the retention: every finished record and queue event is older than it. */
const retentionPassed = (): Promise<void> => new Promise((r) => setTimeout(r, (RETENTION_SECONDS * 2 + 2) * 1000));

describe('when jobs finish and their retention passes', () => {
  const rig = new FaultRig({ env: { COLA_QUEUE_RETENTION_SECONDS: String(RETENTION_SECONDS) } });

  before(async () => {
    await initBackend({ log: null });
    await rig.start();
  });

  after(async () => {
    await rig.stop();
  });

  it('should bring Redis memory back to within 10% of the baseline (tenants and their files present)', async () => {
    const tenants: { key: string; training: string; validation: string }[] = [];
    // Tenant 0 runs the warm-up job before the baseline; tenants 1..TENANTS the measured jobs.
    for (let i = 0; i <= TENANTS; i++) {
      const key = await rig.createTenant(`tenant-mem-${i}`);
      const training = await rig.upload(key, 'train.jsonl', toJsonl(rig.data.train));
      const validation = await rig.upload(key, 'val.jsonl', toJsonl(rig.data.validation));
      tenants.push({ key, training, validation });
    }
    const warmUp = await rig.api<{ id: string }>('POST', '/v1/fine_tuning/jobs', tenants[0]!.key, jobRequest(rig, tenants[0]!));
    assert.equal(await rig.stack.waitForFinal(warmUp.id, 300_000), 'succeeded', 'the warm-up job succeeded');
    await retentionPassed();
    const baseline = await rig.usedMemory();
    const baselineInfo = await rig.memoryBreakdown();
    const baselineFamilies = (await rig.keyFamilies()).families;

    let peak = baseline;
    const sampler = setInterval(() => {
      void rig.usedMemory().then(
        (m) => (peak = Math.max(peak, m)),
        () => undefined,
      );
    }, 250);
    const jobs: { key: string; id: string }[] = [];
    try {
      for (const t of tenants.slice(1)) {
        const job = await rig.api<{ id: string }>('POST', '/v1/fine_tuning/jobs', t.key, jobRequest(rig, t));
        jobs.push({ key: t.key, id: job.id });
      }
      for (const j of jobs) assert.equal(await rig.stack.waitForFinal(j.id, 300_000), 'succeeded', `${j.id} succeeded`);
    } finally {
      clearInterval(sampler);
    }
    const atEnd = await rig.usedMemory();
    peak = Math.max(peak, atEnd);
    await retentionPassed();
    const afterRetention = await rig.usedMemory();
    const afterInfo = await rig.memoryBreakdown();
    const { families, withoutTtl } = await rig.keyFamilies();

    const ratio = afterRetention / baseline;
    console.log(
      `reliability: ${JSON.stringify({
        memoryAfterRetention: true,
        tenants: TENANTS,
        jobs: jobs.length,
        retentionSeconds: RETENTION_SECONDS,
        baselineBytes: baseline,
        peakBytes: peak,
        atEndBytes: atEnd,
        afterRetentionBytes: afterRetention,
        ratio,
        baselineInfo,
        afterInfo,
        baselineFamilies,
        families,
      })}`,
    );
    assert.deepEqual(withoutTtl, [], 'every transient key has a TTL');
    assert.equal(families['cola:payload:<id>:<seq>']?.keys ?? 0, 0, 'no payload is left');
    assert.equal(families['cola:aux:{job}:v<n>']?.keys ?? 0, jobs.length + 1, 'a finished job keeps one aux version, its head');
    assert.ok(peak > baseline, `the jobs used memory (peak ${peak} vs baseline ${baseline})`);
    assert.ok(ratio <= 1.1, `used_memory ${afterRetention} B is ${((ratio - 1) * 100).toFixed(1)}% above the baseline ${baseline} B`);
  });
});
