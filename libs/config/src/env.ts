/**
 * A tiny typed, validated environment loader.
 *
 *   const gatewayConfig = defineConfig({
 *     REDIS_URL: url({ protocols: ['redis:', 'rediss:'], default: 'redis://127.0.0.1:6379' }),
 *     GATEWAY_PORT: port({ default: 3000 }),
 *   });
 *   const env = gatewayConfig.load();   // { REDIS_URL: string; GATEWAY_PORT: number }
 *
 * `load` checks every variable before it throws, so one run lists every mistake at once.
 * An empty value (`FOO=`) counts as unset: compose files and Helm charts produce those.
 */

/** One environment variable: how to parse it, its default and its documentation. */
export interface VarSpec<T> {
  /** What a valid value looks like, for error messages, e.g. "an integer port 1-65535". */
  readonly expected: string;
  /** A valid example value, for "how to fix it" hints. */
  readonly example: string;
  /** What the variable does (shown in errors and in generated docs). */
  readonly doc: string;
  /** The value used when the variable is unset; `undefined` makes the variable required. */
  readonly default: T | undefined;
  /** When true, an unset variable without default loads as `undefined` instead of failing. */
  readonly optional?: boolean;
  /** Parses a raw value; returns `undefined` when it is invalid. */
  parse(raw: string): T | undefined;
}

/** Options shared by every variable builder. */
export interface VarOptions<T> {
  /** Value used when unset. Omit it to make the variable required. */
  default?: T;
  /** What the variable does. */
  doc?: string;
}

/** One problem found by {@link EnvConfig.load}. */
export interface EnvProblem {
  /** The variable's name. */
  name: string;
  /** Its raw value, or `undefined` when it was missing. */
  value: string | undefined;
  /** What is wrong and how to fix it. */
  message: string;
}

/** Thrown by {@link EnvConfig.load}; lists every bad variable. */
export class EnvConfigError extends Error {
  override readonly name = 'EnvConfigError';
  constructor(readonly problems: readonly EnvProblem[]) {
    super(
      `Invalid environment configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.message}`).join('\n'),
    );
  }
}

function define<T>(
  expected: string,
  example: string,
  opts: VarOptions<T>,
  parse: (raw: string) => T | undefined,
  format: (value: T) => string,
): VarSpec<T> {
  // A bad default is a programming error: report it when the module loads, not at deploy time.
  if (opts.default !== undefined && parse(format(opts.default)) === undefined) {
    throw new TypeError(`default ${format(opts.default)} is not ${expected}`);
  }
  return { expected, example, doc: opts.doc ?? '', default: opts.default, parse };
}

/** A string; `nonEmpty` is implied because empty means unset. */
export function str(opts: VarOptions<string> & { example?: string } = {}): VarSpec<string> {
  return define('a non-empty string', opts.example ?? opts.default ?? 'value', opts, (raw) => raw, String);
}

/** An integer within `[min, max]` (defaults: any safe integer). */
export function int(opts: VarOptions<number> & { min?: number; max?: number } = {}): VarSpec<number> {
  const min = opts.min ?? Number.MIN_SAFE_INTEGER;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  const range =
    opts.min !== undefined && opts.max !== undefined
      ? ` between ${min} and ${max}`
      : opts.min !== undefined
        ? ` >= ${min}`
        : opts.max !== undefined
          ? ` <= ${max}`
          : '';
  return define(
    `an integer${range}`,
    String(opts.default ?? Math.max(min, Math.min(max, 1))),
    opts,
    (raw) => {
      if (!/^-?\d+$/.test(raw.trim())) return undefined;
      const n = Number(raw.trim());
      return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
    },
    String,
  );
}

/** A TCP port 1-65535; `allowZero` also accepts 0 ("pick any free port", handy in tests). */
export function port(opts: VarOptions<number> & { allowZero?: boolean } = {}): VarSpec<number> {
  const min = opts.allowZero ? 0 : 1;
  const integer = int({ min, max: 65535 });
  return define(`a TCP port (integer ${min}-65535)`, String(opts.default ?? 8080), opts, integer.parse, String);
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** A boolean: 1/true/yes/on or 0/false/no/off, any case. */
export function bool(opts: VarOptions<boolean> = {}): VarSpec<boolean> {
  return define(
    'a boolean (true/false, 1/0, yes/no, on/off)',
    String(opts.default ?? true),
    opts,
    (raw) => {
      const v = raw.trim().toLowerCase();
      return TRUE.has(v) ? true : FALSE.has(v) ? false : undefined;
    },
    String,
  );
}

/** One of a fixed list of strings (case-sensitive). */
export function oneOf<const T extends string>(values: readonly T[], opts: VarOptions<T> = {}): VarSpec<T> {
  if (values.length === 0) throw new TypeError('oneOf(): pass at least one allowed value');
  return define(
    `one of ${values.join(', ')}`,
    opts.default ?? values[0]!,
    opts,
    (raw) => ((values as readonly string[]).includes(raw) ? (raw as T) : undefined),
    String,
  );
}

/** An absolute URL whose protocol (with the colon, e.g. 'redis:') is in `protocols` if given. */
export function url(opts: VarOptions<string> & { protocols?: readonly string[] } = {}): VarSpec<string> {
  const protocols = opts.protocols;
  const example = opts.default ?? `${protocols?.[0] ?? 'http:'}//127.0.0.1:8080`;
  return define(
    protocols ? `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` : 'an absolute URL',
    example,
    opts,
    (raw) => {
      try {
        const parsed = new URL(raw.trim());
        return protocols === undefined || protocols.includes(parsed.protocol) ? raw.trim() : undefined;
      } catch {
        return undefined;
      }
    },
    String,
  );
}

/** Makes a variable without default optional: unset loads as `undefined`. */
export function optional<T>(spec: VarSpec<T>): VarSpec<T | undefined> {
  return { ...spec, optional: true };
}

/** A map from variable name to its spec. */
export type EnvSpec = Record<string, VarSpec<unknown>>;

/** The typed values a spec loads to. */
export type EnvValues<S extends EnvSpec> = { readonly [K in keyof S]: S[K] extends VarSpec<infer T> ? T : never };

/** A validated set of variables, see {@link defineConfig}. */
export interface EnvConfig<S extends EnvSpec> {
  /** The spec this config was defined with. */
  readonly spec: S;
  /**
   * Reads every variable from `source` (default `process.env`), applies defaults and returns the
   * typed values. Throws an {@link EnvConfigError} listing every missing or invalid variable.
   */
  load(source?: Readonly<Record<string, string | undefined>>): EnvValues<S>;
  /** One line per variable: name, default or "required", and doc; for READMEs and --help. */
  describe(): string;
}

const NAME = /^[A-Z][A-Z0-9_]*$/;

/** Defines a config from a spec; see the module comment for an example. */
export function defineConfig<S extends EnvSpec>(spec: S): EnvConfig<S> {
  for (const name of Object.keys(spec)) {
    if (!NAME.test(name)) throw new TypeError(`defineConfig(): "${name}" is not an UPPER_SNAKE_CASE variable name`);
  }
  return {
    spec,
    load(source = process.env) {
      const out: Record<string, unknown> = {};
      const problems: EnvProblem[] = [];
      for (const [name, v] of Object.entries(spec)) {
        const raw = source[name];
        if (raw === undefined || raw === '') {
          if (v.default === undefined && !v.optional) {
            problems.push({
              name,
              value: raw,
              message: `${name} is required${v.doc ? ` (${v.doc})` : ''}: set it to ${v.expected}, e.g. ${name}=${v.example}`,
            });
          } else {
            out[name] = v.default;
          }
          continue;
        }
        const value = v.parse(raw);
        if (value === undefined) {
          problems.push({
            name,
            value: raw,
            message:
              `${name}=${JSON.stringify(raw)} is invalid: use ${v.expected}, e.g. ${name}=${v.example}` +
              (v.default === undefined ? '' : `, or unset it to use the default ${String(v.default)}`),
          });
        } else {
          out[name] = value;
        }
      }
      if (problems.length > 0) throw new EnvConfigError(problems);
      return out as EnvValues<S>;
    },
    describe() {
      return Object.entries(spec)
        .map(([name, v]) =>
          `${name}=${v.default !== undefined ? String(v.default) : v.optional ? '(optional)' : '(required)'}  ${v.expected}. ${v.doc}`.trim(),
        )
        .join('\n');
    },
  };
}
