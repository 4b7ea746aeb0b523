import { createRequire } from 'node:module';
import { tf } from '../tf';
import { shareIdentityData } from './shared-identity';
import { viewSliceKernels } from './view-slice';
import { trackBackendMemory } from './backend-memory';

/** Backends in the order they are preferred; the first one that loads wins. */
export const BACKEND_ORDER = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_ORDER)[number];

/** Options for {@link initBackend}. */
export interface InitBackendOptions {
  /**
   * Force one backend instead of probing. Defaults to the `COLA_BACKEND` environment variable;
   * when that is unset too, backends are probed in {@link BACKEND_ORDER}.
   */
  backend?: BackendChoice;
  /** Where the one "backend selected" line goes. Defaults to stderr; pass `null` to stay quiet. */
  log?: ((line: string) => void) | null;
}

const requireHere = createRequire(__filename);
let selected: Promise<BackendChoice> | undefined;

/**
 * Loads the optional native packages only when present: both download libtensorflow at install
 * time, which fails offline, so neither is a dependency. A missing package is not an error here.
 */
function tryLoad(choice: BackendChoice): boolean {
  try {
    switch (choice) {
      case 'tensorflow-gpu':
        requireHere('@tensorflow/tfjs-node-gpu');
        return true;
      case 'tensorflow':
        requireHere('@tensorflow/tfjs-node');
        return true;
      case 'wasm':
        requireHere('@tensorflow/tfjs-backend-wasm');
        return true;
      case 'cpu':
        requireHere('@tensorflow/tfjs-backend-cpu');
        return true;
    }
  } catch {
    return false;
  }
}

/** tfjs names both native backends "tensorflow"; the GPU build is told apart by its package. */
function tfjsName(choice: BackendChoice): string {
  return choice === 'tensorflow-gpu' ? 'tensorflow' : choice;
}

function parseChoice(raw: string | undefined): BackendChoice | undefined {
  if (raw === undefined || raw === '') return undefined;
  if ((BACKEND_ORDER as readonly string[]).includes(raw)) return raw as BackendChoice;
  throw new Error(`COLA_BACKEND="${raw}" is not a backend; use one of: ${BACKEND_ORDER.join(', ')}`);
}

async function select(opts: InitBackendOptions): Promise<BackendChoice> {
  const forced = opts.backend ?? parseChoice(process.env.COLA_BACKEND);
  const candidates = forced ? [forced] : BACKEND_ORDER;
  for (const choice of candidates) {
    if (!tryLoad(choice)) {
      if (forced) throw new Error(`COLA_BACKEND=${forced} was asked for, but its package is not installed`);
      continue;
    }
    if (await tf.setBackend(tfjsName(choice))) {
      await tf.ready();
      shareIdentityData(tfjsName(choice));
      viewSliceKernels(tfjsName(choice));
      trackBackendMemory(tfjsName(choice));
      const log = opts.log === undefined ? (l: string) => process.stderr.write(`${l}\n`) : opts.log;
      log?.(`[cola] tfjs backend: ${choice}${forced ? ' (forced by COLA_BACKEND)' : ''}`);
      return choice;
    }
    if (forced) throw new Error(`COLA_BACKEND=${forced} is installed but failed to initialise`);
  }
  throw new Error('No TensorFlow.js backend could be initialised');
}

/**
 * Selects the compute backend once per process and logs the choice once. Later calls return the
 * same promise, so every library may call it defensively before its first tensor op.
 */
export function initBackend(opts: InitBackendOptions = {}): Promise<BackendChoice> {
  selected ??= select(opts);
  return selected;
}
