import { SCORE_TAP, tapShape, type GptConfig } from '@cola/model';
import type { ValidatedJobSpec } from '../jobs/job-spec';
import { chooseTransfer, type TransferChoice, type TransferLayer } from './transfer-choice';

/**
 * The adapted layers of a job as the transfer sees them: widths from the model, rows per host
 * batch from the job's batch size and length (the `score` head gets one pooled row per sequence),
 * and the aux trained on each (the head aux on `score`).
 */
export function transferLayersOf(config: GptConfig, v: ValidatedJobSpec, taps: readonly string[]): TransferLayer[] {
  const o = v.options;
  return taps.map((tap) => ({
    tap,
    ...tapShape(config, tap),
    rowsPerBatch: tap === SCORE_TAP ? o.batchSize : o.batchSize * o.maxLength,
    aux: tap === SCORE_TAP ? o.headAux : o.aux,
  }));
}

/** Resolves the job's transfer (`auto` included) on the model it runs on. */
export function resolveJobTransfer(config: GptConfig, v: ValidatedJobSpec, taps: readonly string[]): TransferChoice {
  return chooseTransfer(v.transfer, { layers: transferLayersOf(config, v, taps), interval: v.options.interval });
}
