/** Lower-case word tokens (letters, digits, apostrophes): the bag-of-words baseline's features. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9']+/g) ?? [];
}

/**
 * Multinomial naive Bayes over word counts of the whole input, add-one smoothed: the
 * bag-of-words baseline a fine-tuned transformer has to beat.
 */
export class NaiveBayes {
  private readonly logPrior: number[];
  private readonly logLik: Map<string, number>[];
  private readonly logUnknown: number[];

  constructor(rows: readonly { text: string; label: string | number }[], labels: readonly (string | number)[]) {
    const counts = labels.map(() => new Map<string, number>());
    const totals = labels.map(() => 0);
    const docs = labels.map(() => 0);
    const vocab = new Set<string>();
    for (const r of rows) {
      const c = labels.indexOf(r.label);
      if (c < 0) throw new Error(`NaiveBayes: label ${JSON.stringify(r.label)} is not in ${JSON.stringify(labels)}`);
      docs[c]! += 1;
      for (const w of words(r.text)) {
        counts[c]!.set(w, (counts[c]!.get(w) ?? 0) + 1);
        totals[c]! += 1;
        vocab.add(w);
      }
    }
    const V = vocab.size + 1;
    this.logPrior = docs.map((d) => Math.log((d + 1) / (rows.length + labels.length)));
    this.logUnknown = totals.map((t) => Math.log(1 / (t + V)));
    this.logLik = counts.map((m, c) => new Map([...m].map(([w, n]) => [w, Math.log((n + 1) / (totals[c]! + V))])));
  }

  /** Index of the most likely class. */
  predict(text: string): number {
    const ws = words(text);
    let best = 0;
    let bestScore = -Infinity;
    this.logPrior.forEach((prior, c) => {
      let s = prior;
      for (const w of ws) s += this.logLik[c]!.get(w) ?? this.logUnknown[c]!;
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    });
    return best;
  }

  /** Accuracy on labelled rows. */
  accuracy(rows: readonly { text: string; label: string | number }[], labels: readonly (string | number)[]): number {
    let ok = 0;
    for (const r of rows) if (labels[this.predict(r.text)] === r.label) ok++;
    return rows.length ? ok / rows.length : 0;
  }
}

/** Accuracy of always predicting the most frequent training label. */
export function majorityAccuracy(train: readonly { label: string | number }[], test: readonly { label: string | number }[]): number {
  const counts = new Map<string | number, number>();
  for (const r of train) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
  return test.length ? test.filter((r) => r.label === top).length / test.length : 0;
}
