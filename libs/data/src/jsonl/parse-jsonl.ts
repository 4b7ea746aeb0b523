import { chatRows } from './chat-rows';
import { JsonlError } from './jsonl-error';
import type { ClassificationRow, CompletionRow, JsonlDataset } from './jsonl-types';

/** Options for {@link parseJsonl}. */
export interface ParseJsonlOptions {
  /**
   * Reject input larger than this many UTF-8 bytes before parsing anything (code 'too_large').
   * Default: no limit; the gateway passes its upload limit.
   */
  maxBytes?: number;
}

/** The row shapes: a chat row trains a completion model like a prompt/completion row. */
type Shape = 'classification' | 'completion' | 'chat';

const SHAPES =
  'each line must be {"text": string, "label": string|integer}, {"prompt": string, "completion": string} or {"messages": [{"role", "content"}, ...]}';

/** A non-blank line and its 1-based number. */
interface Line {
  no: number;
  text: string;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' && !Number.isInteger(value)) return `the non-integer number ${value}`;
  return `a ${typeof value}`;
}

function checkOptions(opts: ParseJsonlOptions): void {
  const { maxBytes } = opts;
  if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes <= 0)) {
    throw new RangeError(`parseJsonl: maxBytes must be a positive integer number of bytes, got ${maxBytes}`);
  }
}

// Bytes are split at '\n' and decoded line by line, so invalid UTF-8 is reported with its line.
function bytesToLines(bytes: Uint8Array): string[] {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    try {
      lines.push(decoder.decode(bytes.subarray(start, i)));
    } catch {
      throw new JsonlError('invalid_utf8', lines.length + 1, null, 'not valid UTF-8; save the file with UTF-8 encoding');
    }
    start = i + 1;
  }
  return lines;
}

function nonBlankLines(input: string | Uint8Array): Line[] {
  const raw = typeof input === 'string' ? input.split('\n') : bytesToLines(input);
  if (raw.length > 0) raw[0] = (raw[0] as string).replace(/^\uFEFF/, ''); // editors on Windows add a BOM
  const lines: Line[] = [];
  raw.forEach((text, i) => {
    if (text.trim() !== '') lines.push({ no: i + 1, text: text.replace(/\r$/, '') });
  });
  return lines;
}

function parseObject(line: Line): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch (err) {
    throw new JsonlError(
      'invalid_json',
      line.no,
      null,
      `not valid JSON (${(err as Error).message}); write one complete JSON object per line`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JsonlError('not_an_object', line.no, null, `expected a JSON object, got ${describeValue(value)}; ${SHAPES}`);
  }
  return value as Record<string, unknown>;
}

function shapeOf(row: Record<string, unknown>, line: Line, fileShape: Shape | undefined): Shape {
  const has = (k: string) => Object.hasOwn(row, k);
  const classification = has('text') || has('label');
  const completion = has('prompt') || has('completion');
  const chat = has('messages');
  if ([classification, completion, chat].filter(Boolean).length > 1) {
    throw new JsonlError('mixed_kinds', line.no, null, `the row mixes the fields of different row shapes; ${SHAPES}`);
  }
  if (classification) return 'classification';
  if (completion) return 'completion';
  if (chat) return 'chat';
  if (fileShape !== undefined) {
    // The row has none of the known keys: report the first field the file's shape needs.
    const field = fileShape === 'classification' ? 'text' : fileShape === 'chat' ? 'messages' : 'prompt';
    throw new JsonlError('missing_field', line.no, field, `is missing; ${SHAPES}`);
  }
  throw new JsonlError(
    'missing_field',
    line.no,
    null,
    `none of the fields "text", "label", "prompt", "completion", "messages" is present; ${SHAPES}`,
  );
}

function requireString(row: Record<string, unknown>, field: string, line: Line, allowEmpty: boolean): string {
  if (!Object.hasOwn(row, field)) throw new JsonlError('missing_field', line.no, field, `is missing; ${SHAPES}`);
  const value = row[field];
  if (typeof value !== 'string') {
    throw new JsonlError('wrong_type', line.no, field, `must be a string, got ${describeValue(value)}`);
  }
  if (!allowEmpty && value.trim() === '') {
    throw new JsonlError('empty_value', line.no, field, 'is empty; remove the row or give it some text');
  }
  return value;
}

function requireLabel(row: Record<string, unknown>, line: Line): string | number {
  if (!Object.hasOwn(row, 'label')) throw new JsonlError('missing_field', line.no, 'label', `is missing; ${SHAPES}`);
  const value = row['label'];
  if (typeof value === 'string') {
    if (value === '') throw new JsonlError('empty_value', line.no, 'label', 'is an empty string; name the class');
    return value;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  throw new JsonlError('wrong_type', line.no, 'label', `must be a string or an integer, got ${describeValue(value)}`);
}

function compareLabels(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  // Code-unit order, not locale order: class ids must not depend on the machine's locale.
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/**
 * Parses and validates a tenant's JSONL upload. Every line is one JSON object; blank lines are
 * skipped. The first row decides the kind of the file:
 * - classification: `{"text": "...", "label": "spam"}` (labels all strings or all integers);
 * - completion: `{"prompt": "...", "completion": "..."}`;
 * - chat (OpenAI's fine-tuning format): `{"messages": [{"role": "user", "content": "..."}, ...]}`,
 *   which becomes completion rows in the chat template, one per assistant turn (see `chatRows`).
 * Unknown extra keys (an "id", say) are allowed and dropped.
 *
 * @param input the file as text, or as raw bytes (then invalid UTF-8 is reported with its line).
 * @throws JsonlError with the code, 1-based line and field of the first problem.
 */
export function parseJsonl(input: string | Uint8Array, opts: ParseJsonlOptions = {}): JsonlDataset {
  checkOptions(opts);
  if (opts.maxBytes !== undefined) {
    const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
    if (size > opts.maxBytes) {
      throw new JsonlError(
        'too_large',
        0,
        null,
        `the file is ${size} bytes, above the limit of ${opts.maxBytes}; split it or sample fewer rows`,
      );
    }
  }
  const lines = nonBlankLines(input);
  if (lines.length === 0) {
    throw new JsonlError('empty_file', 0, null, `the file has no rows; ${SHAPES}`);
  }

  let fileShape: Shape | undefined;
  let firstKindLine = 0;
  let labelType: 'string' | 'number' | undefined;
  let firstLabelLine = 0;
  const classification: ClassificationRow[] = [];
  const completion: CompletionRow[] = [];

  for (const line of lines) {
    const row = parseObject(line);
    const kind = shapeOf(row, line, fileShape);
    if (fileShape === undefined) {
      fileShape = kind;
      firstKindLine = line.no;
    } else if (kind !== fileShape) {
      const shape = (k: Shape) => (k === 'classification' ? '{"text","label"}' : k === 'chat' ? '{"messages"}' : '{"prompt","completion"}');
      throw new JsonlError(
        'mixed_kinds',
        line.no,
        null,
        `a ${shape(kind)} row, but line ${firstKindLine} is a ${shape(fileShape)} row; a file holds one kind of row`,
      );
    }

    if (kind === 'classification') {
      const text = requireString(row, 'text', line, false);
      const label = requireLabel(row, line);
      const type = typeof label === 'number' ? 'number' : 'string';
      if (labelType === undefined) {
        labelType = type;
        firstLabelLine = line.no;
      } else if (type !== labelType) {
        throw new JsonlError(
          'inconsistent_label_type',
          line.no,
          'label',
          `is a ${type} but line ${firstLabelLine} has a ${labelType} label; use strings for every label or integers for every label`,
        );
      }
      classification.push({ text, label });
    } else if (kind === 'chat') {
      completion.push(...chatRows(row, line.no));
    } else {
      completion.push({
        prompt: requireString(row, 'prompt', line, true),
        completion: requireString(row, 'completion', line, false),
      });
    }
  }

  if (fileShape === 'chat') return { kind: 'completion', rows: completion, format: 'chat' };
  if (fileShape === 'completion') return { kind: 'completion', rows: completion };
  const labels = [...new Set(classification.map((r) => r.label))].sort(compareLabels);
  return { kind: 'classification', rows: classification, labels, labelType: labelType ?? 'string' };
}
