/** What one training batch reports. */
export interface StepReport {
  /** Loss of the batch, computed with the adapters as they were before this step's update. */
  loss: number;
  /** Real (non-padding) tokens in the batch. */
  tokens: number;
  /**
   * Milliseconds of host work: for ColA the host step (forward + backward to the hidden states),
   * for LoRA the whole forward, backward and optimizer step (LoRA has no other place to run it).
   */
  hostMs: number;
  /** Milliseconds of the GL fit steps run after this batch (ColA only; workers in the service). */
  fitMs: number;
  /** Optimizer steps taken after this batch (0 while an interval is filling). */
  optimizerSteps: number;
}

/** One way of turning a batch into adapter updates (ColA or back-propagation). */
export interface Stepper {
  step(batch: import('./task-data').TaskBatch): StepReport;
  /**
   * Peak tensor bytes the host holds while it does its part for `batch`, measured with tf.profile
   * on a throw-away run (no update is applied). ColA: the host step only; back-propagation: the
   * forward, the backward into the adapters and the optimizer state it keeps.
   */
  peakHostBytes(batch: import('./task-data').TaskBatch): Promise<number>;
}
