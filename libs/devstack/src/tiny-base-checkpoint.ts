import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initGptModel, saveCheckpoint } from '@cola/model';

/** A base checkpoint saved for a test, and how to remove it. */
export interface TinyBaseCheckpoint {
  /** The checkpoint directory (what COLA_BASE_MODEL_DIR names); its name is the base model's. */
  modelDir: string;
  /** The temporary directory around it. */
  dir: string;
  /** Deletes the temporary directory. */
  remove(): Promise<void>;
}

/**
 * Saves a small random base model (byte vocabulary, 2 layers of width 16) as `tiny-base` in a new
 * temporary directory, for the process tests of the services that load one. Initialise the tfjs
 * backend first.
 */
export async function saveTinyBaseCheckpoint(prefix: string): Promise<TinyBaseCheckpoint> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const modelDir = join(dir, 'tiny-base');
  const base = initGptModel({ vocabSize: 258, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 }, { seed: 1 });
  try {
    await saveCheckpoint(modelDir, base);
  } finally {
    base.dispose();
  }
  return { modelDir, dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
