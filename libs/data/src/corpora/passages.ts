import { collapseWhitespace } from './email-body';

/**
 * Cuts a text into passages of `min`..`max` characters at sentence ends: sentences are added until
 * the passage reaches `min`; a passage that would pass `max` is cut at the last space before it.
 * A shorter tail is dropped. Deterministic, so task splits built on it are too.
 */
export function passages(text: string, min: number, max: number): string[] {
  const sentences = collapseWhitespace(text).split(/(?<=[.!?])\s+/);
  const out: string[] = [];
  let cur = '';
  for (const s of sentences) {
    cur = cur ? `${cur} ${s}` : s;
    if (cur.length >= min) {
      if (cur.length > max) {
        const cut = cur.lastIndexOf(' ', max);
        cur = cur.slice(0, cut > min ? cut : max);
      }
      out.push(cur);
      cur = '';
    }
  }
  return out;
}
