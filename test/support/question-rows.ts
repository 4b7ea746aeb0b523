import { loadMobyDick } from '@cola/data';

/** A classification row of {@link questionRows}. */
export interface QuestionRow {
  text: string;
  label: 'question' | 'statement';
}

let sentences: { questions: string[]; statements: string[] } | undefined;

/**
 * Short Moby Dick sentences (12 to 32 characters) labelled `question` or `statement`: a small
 * classification file the tiny model learns in seconds. `n` rows, as question/statement pairs
 * starting at pair `from`, so a held-out set can follow a training set without sharing a row.
 */
export function questionRows(n: number, from = 0): QuestionRow[] {
  if (!sentences) {
    const all = loadMobyDick()
      .map((c) => c.text)
      .join(' ')
      .split(/(?<=[.!?])\s+/)
      .map((s) => s.replace(/\s+/g, ' ').trim())
      .filter((s) => s.length >= 12 && s.length <= 32);
    sentences = { questions: all.filter((s) => s.endsWith('?')), statements: all.filter((s) => s.endsWith('.')) };
  }
  const { questions, statements } = sentences;
  return Array.from({ length: n / 2 }, (_, i): QuestionRow[] => [
    { text: questions[from + i]!, label: 'question' },
    { text: statements[from + i]!, label: 'statement' },
  ]).flat();
}
