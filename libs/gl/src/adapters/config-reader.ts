/**
 * Reads one untrusted config object field by field. Every check fails with a message that names
 * the field, says what was expected, what was given and how to fix it, so a tenant reading a
 * failed job knows what to change without opening our code. Shared by the aux and optimizer
 * configs so both speak the same way.
 */

/** Builds the error thrown for a bad field (each config family has its own error class). */
export type FieldErrorFactory = (field: string, message: string) => Error;

/** Bounds for {@link ConfigReader.number}. */
export interface NumberRule {
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Values must be strictly greater than this. */
  above?: number;
  /** Values must be strictly smaller than this. */
  below?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
  /** Only integers are accepted. */
  integer?: boolean;
  /** A typical good value, quoted in the fix hint. */
  example: number;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function describeRule(rule: NumberRule): string {
  const parts: string[] = [];
  if (rule.min !== undefined) parts.push(`>= ${rule.min}`);
  if (rule.above !== undefined) parts.push(`> ${rule.above}`);
  if (rule.max !== undefined) parts.push(`<= ${rule.max}`);
  if (rule.below !== undefined) parts.push(`< ${rule.below}`);
  return `${rule.integer ? 'an integer' : 'a finite number'}${parts.length ? ` ${parts.join(' and ')}` : ''}`;
}

/** Checks one value against a numeric rule; returns the problem or undefined. */
export function numberProblem(v: unknown, rule: NumberRule): string | undefined {
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (!rule.integer || Number.isInteger(v)) &&
    (rule.min === undefined || v >= rule.min) &&
    (rule.above === undefined || v > rule.above) &&
    (rule.max === undefined || v <= rule.max) &&
    (rule.below === undefined || v < rule.below);
  return ok ? undefined : `must be ${describeRule(rule)}, got ${show(v)}; use e.g. ${rule.example}`;
}

export class ConfigReader {
  private constructor(
    private readonly raw: Readonly<Record<string, unknown>>,
    /** Prefix of every field name in messages, e.g. `lowrank` or `optimizer(adamw)`. */
    private readonly context: string,
    private readonly fail: FieldErrorFactory,
  ) {}

  /** Starts reading `raw`, which must be a plain object. */
  static of(raw: unknown, context: string, fail: FieldErrorFactory): ConfigReader {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw fail('(root)', `${context} config must be an object such as { "type": ... }, got ${show(raw)}`);
    }
    return new ConfigReader(raw as Record<string, unknown>, context, fail);
  }

  /** Raises the family's error for `field` with the full `context.field` prefix. */
  error(field: string, problem: string): Error {
    return this.fail(field, `${this.context}.${field} ${problem}`);
  }

  /** The raw value of a field (undefined when absent). */
  get(field: string): unknown {
    return this.raw[field];
  }

  /**
   * Rejects fields this config does not have. A typo such as `rnak` would otherwise be silently
   * replaced by the default, and the tenant would train something else than asked for.
   */
  rejectUnknown(known: readonly string[]): void {
    for (const key of Object.keys(this.raw)) {
      if (!known.includes(key)) {
        throw this.error(key, `is not a field of a ${this.context} config; remove it (known fields: ${known.join(', ')})`);
      }
    }
  }

  number(field: string, fallback: number, rule: NumberRule): number {
    const v = this.raw[field];
    if (v === undefined) return fallback;
    const problem = numberProblem(v, rule);
    if (problem) throw this.error(field, problem);
    return v as number;
  }

  boolean(field: string, fallback: boolean): boolean {
    const v = this.raw[field];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw this.error(field, `must be true or false, got ${show(v)}`);
    return v;
  }

  /** A string from `allowed`; `fallback` when absent, or an error when there is no fallback. */
  oneOf<T extends string>(field: string, allowed: readonly T[], fallback?: T): T {
    const v = this.raw[field];
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw this.error(field, `is required; set it to one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
    }
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      throw this.error(field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${show(v)}`);
    }
    return v as T;
  }

  /** A non-empty array of numbers, each checked against `rule`; errors name the index. */
  numberArray(field: string, fallback: readonly number[], rule: NumberRule & { minLength: number; maxLength?: number }): number[] {
    const v = this.raw[field];
    if (v === undefined) return [...fallback];
    const sizes = `${rule.minLength}${rule.maxLength === undefined ? ' or more' : ` to ${rule.maxLength}`}`;
    if (!Array.isArray(v) || v.length < rule.minLength || (rule.maxLength !== undefined && v.length > rule.maxLength)) {
      throw this.error(field, `must be an array of ${sizes} numbers, got ${show(v)}; use e.g. ${show(fallback)}`);
    }
    v.forEach((item, i) => {
      const problem = numberProblem(item, rule);
      if (problem) throw this.error(`${field}[${i}]`, problem);
    });
    return [...(v as number[])];
  }
}
