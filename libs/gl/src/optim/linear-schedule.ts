import { ConfigReader } from '../adapters/config-reader';
import { optimizerConfigError } from './optimizer-config-error';

/** Options of {@link LinearSchedule}: linear warmup to `peakLr`, then linear decay to 0. */
export interface LinearScheduleConfig {
  /** The learning rate reached at the end of the warmup (the optimizer's lr), >= 0. */
  peakLr: number;
  /** Number of optimizer steps of the whole run; the rate reaches 0 here. Integer >= 1. */
  totalSteps: number;
  /** Warmup length in steps. Give this or {@link warmupFraction}, not both. */
  warmupSteps?: number;
  /**
   * Warmup length as a fraction of {@link totalSteps} in [0, 1), rounded up to whole steps as the
   * HF Trainer does. Default 0.05, the paper's 5%.
   */
  warmupFraction?: number;
}

export const DEFAULT_WARMUP_FRACTION = 0.05;

/**
 * The paper's schedule, with the semantics of HF `get_linear_schedule_with_warmup` (which its code
 * uses): the rate of step s (0-based, counting steps already taken) is peak · s / warmup during
 * warmup, then peak · (total − s) / (total − warmup), and 0 from `totalSteps` on. So the very
 * first step runs at rate 0 when there is a warmup, exactly as in torch.
 */
export class LinearSchedule {
  readonly peakLr: number;
  readonly totalSteps: number;
  readonly warmupSteps: number;

  constructor(config: LinearScheduleConfig) {
    const r = ConfigReader.of(config, 'schedule', optimizerConfigError);
    r.rejectUnknown(['peakLr', 'totalSteps', 'warmupSteps', 'warmupFraction']);
    if (r.get('peakLr') === undefined) throw r.error('peakLr', 'is required; set it to the optimizer lr, e.g. 3e-4');
    if (r.get('totalSteps') === undefined) throw r.error('totalSteps', 'is required; set it to the number of optimizer steps of the run');
    this.peakLr = r.number('peakLr', 0, { min: 0, example: 3e-4 });
    this.totalSteps = r.number('totalSteps', 1, { integer: true, min: 1, example: 1000 });
    if (config.warmupSteps !== undefined && config.warmupFraction !== undefined) {
      throw r.error('warmupSteps', 'and warmupFraction are both set; give only one of them');
    }
    if (config.warmupSteps !== undefined) {
      this.warmupSteps = r.number('warmupSteps', 0, {
        integer: true,
        min: 0,
        max: this.totalSteps,
        example: Math.ceil(this.totalSteps * DEFAULT_WARMUP_FRACTION),
      });
    } else {
      const fraction = r.number('warmupFraction', DEFAULT_WARMUP_FRACTION, { min: 0, below: 1, example: DEFAULT_WARMUP_FRACTION });
      this.warmupSteps = Math.ceil(this.totalSteps * fraction);
    }
  }

  /** The learning rate for the optimizer step taken after `step` earlier steps. */
  lrAt(step: number): number {
    if (!Number.isInteger(step) || step < 0) throw new Error(`LinearSchedule.lrAt: step must be an integer >= 0, got ${step}`);
    // The factor first, as HF does, so the peak itself comes out exactly (ratio 1).
    if (step < this.warmupSteps) return this.peakLr * (step / this.warmupSteps);
    if (step >= this.totalSteps) return 0;
    return this.peakLr * ((this.totalSteps - step) / (this.totalSteps - this.warmupSteps));
  }
}
