import { join } from 'node:path';

/** The committed base checkpoint, resolved from the workspace root (this file is libs/train/src). */
export const DEFAULT_BASE_MODEL_DIR = join(__dirname, '..', '..', '..', 'models', 'cola-tiny');
