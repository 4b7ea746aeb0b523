/** Machine-readable reason a tenant file was rejected; the gateway maps every code to a 400. */
export type JsonlErrorCode =
  | 'empty_file'
  | 'too_large'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'not_an_object'
  | 'missing_field'
  | 'wrong_type'
  | 'empty_value'
  | 'inconsistent_label_type'
  | 'mixed_kinds'
  | 'invalid_role'
  | 'no_assistant_turn'
  | 'too_many_messages';

/**
 * A problem in an uploaded JSONL file, located precisely enough for a tenant to fix it:
 * `line 3: field "label" is missing; ...`.
 */
export class JsonlError extends Error {
  override readonly name = 'JsonlError';

  /**
   * @param code  machine-readable reason.
   * @param line  1-based line of the problem; 0 for problems of the whole file (empty, too large).
   * @param field the JSON field at fault, or null when the problem is not about one field.
   * @param detail what is wrong and how to fix it; the line and field are prefixed to it.
   */
  constructor(
    readonly code: JsonlErrorCode,
    readonly line: number,
    readonly field: string | null,
    detail: string,
  ) {
    const where = line > 0 ? `line ${line}: ` : '';
    super(field === null ? `${where}${detail}` : `${where}field "${field}" ${detail}`);
  }

  /** Plain form for an HTTP error body. */
  toJSON(): { code: JsonlErrorCode; line: number; field: string | null; message: string } {
    return { code: this.code, line: this.line, field: this.field, message: this.message };
  }
}
