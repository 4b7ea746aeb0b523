/** Prints a Markdown table (the benches' one output format). */
export function table(head: string[], rows: string[][]): void {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (c: string[]) => `| ${c.map((x, i) => (x ?? '').padEnd(w[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log('');
}

/** A number with thousands separators. */
export function n0(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}
