/**
 * The one checker of a service's options object (the gpu-host, the aux-trainer, the merger and the
 * gateway each take one): it collects every problem before it throws, so one start names every bad
 * option together with what would be valid.
 *
 *   new OptionChecks()
 *     .redisUrl('redisUrl', o.redisUrl)
 *     .int('concurrency', o.concurrency, { min: 1 })
 *     .throwIfAny((problems) => new RangeError(`AuxTrainerService options: ${problems.join('; ')}`));
 */
export class OptionChecks {
  private readonly found: string[] = [];

  /** The problems found so far, each naming its option and what would be valid. */
  get problems(): readonly string[] {
    return this.found;
  }

  /** Records a problem when `ok` is false. */
  check(ok: boolean, problem: string | (() => string)): this {
    if (!ok) this.found.push(typeof problem === 'string' ? problem : problem());
    return this;
  }

  /** A Redis connection URL: redis:// or rediss://. */
  redisUrl(name: string, value: unknown): this {
    return this.check(
      typeof value === 'string' && /^rediss?:\/\//.test(value),
      () => `${name} must start with redis:// or rediss://, e.g. redis://127.0.0.1:6379, got ${JSON.stringify(value)}`,
    );
  }

  /**
   * An integer within `min` (and `max` when given); `unit` names what it counts in the message,
   * e.g. "of milliseconds".
   */
  int(name: string, value: unknown, range: { min: number; max?: number; unit?: string }): this {
    const { min, max } = range;
    const ok = typeof value === 'number' && Number.isSafeInteger(value) && value >= min && (max === undefined || value <= max);
    const bounds = max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
    return this.check(ok, () => `${name} must be an integer ${bounds}${range.unit ? ` ${range.unit}` : ''}, got ${JSON.stringify(value)}`);
  }

  /** A TCP port 0-65535, where 0 asks for any free port. */
  port(name: string, value: unknown): this {
    return this.check(
      typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535,
      () => `${name} must be a TCP port 0-65535 (0 = any free port), got ${JSON.stringify(value)}`,
    );
  }

  /** Throws the error `make` builds from every problem, when there is at least one. */
  throwIfAny(make: (problems: readonly string[]) => Error): void {
    if (this.found.length) throw make(this.found);
  }
}
