import type { Redis } from 'ioredis';
import { AdapterSet, initBackend, tf } from '@cola/gl';
import { encodeJobAuxState } from '@cola/pipeline';
import { AuxStateStore, CheckpointStore } from '@cola/store';

/** The layers of the test aux state: a lowrank attention tap and the linear head with bias. */
export const LOWRANK_LAYER = { tap: 'h.0.attn.c_attn', dIn: 16, dOut: 48, aux: { type: 'lowrank' as const, rank: 4, scale: 2 } };
export const HEAD_LAYER = { tap: 'score', dIn: 16, dOut: 2, aux: { type: 'linear' as const, bias: true } };
export const TEST_LAYERS = [LOWRANK_LAYER, HEAD_LAYER];

/**
 * Writes an aux state for `jobId` as the gpu-host would (version 0 in the AuxStateStore) and a
 * checkpoint at `checkpointStep` (the CheckpointStore the host writes), and returns the parameter
 * values keyed `<tap>/<param>`. B of a fresh lowrank is zero, so it is set to random values to make
 * the transposes observable.
 */
export async function writeTestAuxState(redis: Redis, jobId: string, checkpointStep = 3): Promise<Map<string, Float32Array>> {
  await initBackend();
  const adapters = AdapterSet.create({ layers: TEST_LAYERS, optimizer: { type: 'adamw', lr: 1e-3 }, seed: 5 });
  try {
    for (const [name, v] of adapters.variables()) {
      const values = new Float32Array(v.size).map((_, i) => Math.sin(i + name.length));
      tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
    }
    const bytes = encodeJobAuxState(adapters, { jobId, version: 0, schedule: { peakLr: 1e-3, totalSteps: 10, warmupSteps: 1 } });
    await new AuxStateStore(redis).init(jobId, bytes);
    await new CheckpointStore(redis).save(jobId, checkpointStep, bytes);
    return await adapters.values();
  } finally {
    adapters.dispose();
  }
}
