import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';

/** Bounds of a number field; every bound is optional. */
export interface NumberBounds {
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
  /** Values must be strictly greater than this. */
  above?: number;
  /** Values must be strictly below this. */
  below?: number;
  /** Only integers. */
  integer?: boolean;
}

function describeBounds(b: NumberBounds): string {
  const parts: string[] = [];
  if (b.min !== undefined) parts.push(`>= ${b.min}`);
  if (b.above !== undefined) parts.push(`> ${b.above}`);
  if (b.max !== undefined) parts.push(`<= ${b.max}`);
  if (b.below !== undefined) parts.push(`< ${b.below}`);
  return `${b.integer ? 'an integer' : 'a number'}${parts.length ? ` ${parts.join(' and ')}` : ''}`;
}

function inBounds(v: unknown, b: NumberBounds): boolean {
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  if (b.integer && !Number.isSafeInteger(v)) return false;
  if (b.min !== undefined && v < b.min) return false;
  if (b.max !== undefined && v > b.max) return false;
  if (b.above !== undefined && v <= b.above) return false;
  if (b.below !== undefined && v >= b.below) return false;
  return true;
}

/**
 * A hyperparameter that is either `"auto"` (the platform picks the paper's default) or a number
 * within bounds, as in the OpenAI fine-tuning API. A numeric string ("8") is refused: clients
 * must send JSON numbers, so a mistake like `"batch_size": "8x"` cannot slip through.
 */
export function IsAutoOrNumber(bounds: NumberBounds, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'isAutoOrNumber',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (v: unknown) => v === 'auto' || inBounds(v, bounds),
        defaultMessage: (a?: ValidationArguments) => `must be "auto" or ${describeBounds(bounds)}, got ${JSON.stringify(a?.value)}`,
      },
    });
  };
}

/** A number within bounds (for fields without an `auto`), with the same message style. */
export function IsBoundedNumber(bounds: NumberBounds, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'isBoundedNumber',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (v: unknown) => inBounds(v, bounds),
        defaultMessage: (a?: ValidationArguments) => `must be ${describeBounds(bounds)}, got ${JSON.stringify(a?.value)}`,
      },
    });
  };
}

/** A string or a non-empty list of strings (like OpenAI's `input`), each 1..maxLength chars. */
export function IsTextOrTexts(maxItems: number, maxLength: number, options?: ValidationOptions): PropertyDecorator {
  const ok = (s: unknown): boolean => typeof s === 'string' && s.length > 0 && s.length <= maxLength;
  return (target, propertyName) => {
    registerDecorator({
      name: 'isTextOrTexts',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (v: unknown) => ok(v) || (Array.isArray(v) && v.length > 0 && v.length <= maxItems && v.every(ok)),
        defaultMessage: () =>
          `must be a non-empty string or a list of 1 to ${maxItems} non-empty strings, each at most ${maxLength} characters`,
      },
    });
  };
}

/** A chat message's content: a string, or OpenAI's list of `{"type": "text", "text"}` parts (at most `maxLength` characters in all). */
export function IsChatContent(maxLength: number, options?: ValidationOptions): PropertyDecorator {
  const textOf = (v: unknown): string | undefined => {
    if (typeof v === 'string') return v;
    if (!Array.isArray(v) || v.length > 256) return undefined;
    let text = '';
    for (const p of v as unknown[]) {
      const part = p as { type?: unknown; text?: unknown } | null;
      if (typeof part !== 'object' || part === null || part.type !== 'text' || typeof part.text !== 'string') return undefined;
      text += part.text;
    }
    return text;
  };
  return (target, propertyName) => {
    registerDecorator({
      name: 'isChatContent',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (v: unknown) => {
          const t = textOf(v);
          return t !== undefined && t.length <= maxLength;
        },
        defaultMessage: () =>
          `must be a string or a list of {"type": "text", "text": string} parts (only text is supported), at most ${maxLength} characters`,
      },
    });
  };
}
