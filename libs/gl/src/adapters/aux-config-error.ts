/**
 * Raised for an aux adapter config a tenant got wrong. `field` names the offending field (e.g.
 * `rank`, `hidden[1]`) so an API layer can point at it; the message also says how to fix it.
 */
export class AuxConfigError extends Error {
  override readonly name = 'AuxConfigError';

  constructor(
    /** The field that is wrong, e.g. `rank` or `hidden[0]`; `(root)` when the whole value is. */
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The factory {@link ConfigReader} uses to raise aux config errors. */
export const auxConfigError = (field: string, message: string): AuxConfigError => new AuxConfigError(field, message);
