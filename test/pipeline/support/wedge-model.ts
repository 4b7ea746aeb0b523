/** The base model of the wedged-host test: the child process and the resuming host build the same. */
export const WEDGE_MODEL_CONFIG = { vocabSize: 258, nPositions: 32, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };
export const WEDGE_MODEL_SEED = 3;
