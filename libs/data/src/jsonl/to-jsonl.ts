import type { ClassificationRow, CompletionRow } from './jsonl-types';

/**
 * Writes rows as JSONL (one JSON object per line, newline-terminated), the inverse of
 * {@link parseJsonl} for well-formed rows. Only the known fields are written, in a fixed order.
 */
export function toJsonl(rows: readonly (ClassificationRow | CompletionRow)[]): string {
  return rows
    .map((row) => JSON.stringify('text' in row ? { text: row.text, label: row.label } : { prompt: row.prompt, completion: row.completion }))
    .map((line) => `${line}\n`)
    .join('');
}
