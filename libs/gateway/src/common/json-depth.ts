/** Deepest nesting of arrays and objects a JSON body may have: far beyond any real request, far below a stack overflow. */
export const MAX_JSON_DEPTH = 64;

/** Thrown by {@link checkJsonDepth}; the body parser's error handler answers it as a 400. */
export class JsonTooDeepError extends Error {
  override readonly name = 'JsonTooDeepError';
  /** body-parser passes `type` through to the error handler. */
  readonly type = 'entity.too.deep';
}

/**
 * Scans a JSON text's bytes for its nesting depth, outside strings, without parsing it: a body of
 * `[[[[...` under the size limit would otherwise reach the validators, which recurse per level.
 * Malformed JSON is left to the parser.
 *
 * @throws JsonTooDeepError past {@link MAX_JSON_DEPTH}.
 */
export function checkJsonDepth(buf: Uint8Array, max = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) throw new JsonTooDeepError(`the JSON body nests deeper than ${max} levels`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}
