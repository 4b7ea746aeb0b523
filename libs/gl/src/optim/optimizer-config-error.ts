/**
 * Raised for an optimizer or schedule config that is wrong. `field` names the offending field
 * (e.g. `betas[1]`, `nesterov`); the message also says how to fix it.
 */
export class OptimizerConfigError extends Error {
  override readonly name = 'OptimizerConfigError';

  constructor(
    /** The field that is wrong, e.g. `lr` or `betas[0]`; `(root)` when the whole value is. */
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The factory {@link ConfigReader} uses to raise optimizer config errors. */
export const optimizerConfigError = (field: string, message: string): OptimizerConfigError => new OptimizerConfigError(field, message);
