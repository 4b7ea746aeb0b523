import {
  emailBody,
  loadMobyDick,
  loadSpamAssassin,
  loadStateOfTheUnion,
  mulberry32,
  passages,
  permutation,
  type ClassificationRow,
} from '@cola/data';

/** A text-classification task of the quality bench: rows and labels, split deterministically. */
export interface BenchClassificationTask {
  kind: 'classification';
  name: string;
  /** What the task is and how it is split, for the bench's output and docs. */
  description: string;
  labels: string[];
  train: ClassificationRow[];
  test: ClassificationRow[];
}

/** A causal-LM task of the quality bench. */
export interface BenchLmTask {
  kind: 'causal_lm';
  name: string;
  description: string;
  train: string[];
  test: string[];
}

export type BenchTask = BenchClassificationTask | BenchLmTask;

/** Sizes of the bench's splits (kept small: the bench runs on a shared 2-core machine). */
export interface BenchTaskSizes {
  /** Training rows per classification task. */
  train: number;
  /** Test rows per classification task. */
  test: number;
  /** Passage length range in characters. */
  minChars: number;
  maxChars: number;
}

export const BENCH_TASK_SIZES: Readonly<BenchTaskSizes> = Object.freeze({ train: 400, test: 200, minChars: 500, maxChars: 900 });

/** A seeded sample of at most n rows, in a fixed order (seed 0). */
function sample<T>(rows: readonly T[], n: number, seed: number): T[] {
  return permutation(rows.length, mulberry32(seed))
    .slice(0, n)
    .map((i) => rows[i]!);
}

/** Every fifth document (index % 5 === 0) is held out: no passage of a test document is trained on. */
const isTestDoc = (i: number): boolean => i % 5 === 0;

function passageRows(
  docs: readonly { text: string; label: string }[],
  s: BenchTaskSizes,
): { train: ClassificationRow[]; test: ClassificationRow[] } {
  const train: ClassificationRow[] = [];
  const test: ClassificationRow[] = [];
  docs.forEach((d, i) => {
    for (const p of passages(d.text, s.minChars, s.maxChars)) (isTestDoc(i) ? test : train).push({ text: p, label: d.label });
  });
  return { train, test };
}

/** Balanced sample: n / labels.length rows of each label (fewer when a label has fewer). */
function balanced(rows: readonly ClassificationRow[], labels: readonly string[], n: number, seed: number): ClassificationRow[] {
  const per = Math.floor(n / labels.length);
  const picked = labels.flatMap((l, k) =>
    sample(
      rows.filter((r) => r.label === l),
      per,
      seed + k,
    ),
  );
  return sample(picked, picked.length, seed + 101);
}

/**
 * State of the Union passages, Democratic vs Republican presidents (addresses of the two parties
 * only, chronological; every fifth address is test). Natural class balance.
 */
export function sotuPartyTask(s: BenchTaskSizes = BENCH_TASK_SIZES): BenchClassificationTask {
  const docs = loadStateOfTheUnion()
    .filter((a) => a.party === 'Democratic' || a.party === 'Republican')
    .map((a) => ({ text: a.text, label: a.party }));
  const { train, test } = passageRows(docs, s);
  return {
    kind: 'classification',
    name: 'sotu-party',
    description: `State of the Union passages (${s.minChars}-${s.maxChars} chars): Democratic vs Republican president; every 5th address is test`,
    labels: ['Democratic', 'Republican'],
    train: sample(train, s.train, 1),
    test: sample(test, s.test, 2),
  };
}

/** State of the Union passages by era: 1790-1860, 1861-1945, 1946-2016 (every fifth address is test). */
export function sotuEraTask(s: BenchTaskSizes = BENCH_TASK_SIZES): BenchClassificationTask {
  const era = (y: number): string => (y <= 1860 ? '1790-1860' : y <= 1945 ? '1861-1945' : '1946-2016');
  const docs = loadStateOfTheUnion().map((a) => ({ text: a.text, label: era(a.year) }));
  const { train, test } = passageRows(docs, s);
  return {
    kind: 'classification',
    name: 'sotu-era',
    description: `State of the Union passages (${s.minChars}-${s.maxChars} chars) by era: 1790-1860, 1861-1945, 1946-2016; every 5th address is test`,
    labels: ['1790-1860', '1861-1945', '1946-2016'],
    train: sample(train, s.train, 3),
    test: sample(test, s.test, 4),
  };
}

/**
 * Authorship: Moby Dick passages vs State of the Union passages, balanced; every fifth chapter and
 * every fifth address is test.
 */
export function authorshipTask(s: BenchTaskSizes = BENCH_TASK_SIZES): BenchClassificationTask {
  const moby = passageRows(
    loadMobyDick().map((c) => ({ text: c.text, label: 'Melville' })),
    s,
  );
  const sotu = passageRows(
    loadStateOfTheUnion().map((a) => ({ text: a.text, label: 'State of the Union' })),
    s,
  );
  const labels = ['Melville', 'State of the Union'];
  return {
    kind: 'classification',
    name: 'authorship',
    description: `Moby Dick vs State of the Union passages (${s.minChars}-${s.maxChars} chars), balanced; every 5th chapter / address is test`,
    labels,
    train: balanced([...moby.train, ...sotu.train], labels, s.train, 5),
    test: balanced([...moby.test, ...sotu.test], labels, s.test, 6),
  };
}

/** Causal LM on ham e-mail bodies (SpamAssassin's deterministic train/test splits): text the base never saw. */
export function emailLmTask(docs: { train: number; test: number } = { train: 200, test: 50 }): BenchLmTask {
  const splits = loadSpamAssassin();
  const body = (rows: readonly { text: string; label: string }[]): string[] =>
    rows
      .filter((r) => r.label === 'ham')
      .map((r) => emailBody(r.text))
      .filter((t) => t.length > 0);
  return {
    kind: 'causal_lm',
    name: 'email-lm',
    description: `ham e-mail bodies (Subject + body), first ${docs.train} of the train split / ${docs.test} of the test split`,
    train: body(splits.train).slice(0, docs.train),
    test: body(splits.test).slice(0, docs.test),
  };
}

/** The bench's tasks, in print order. */
export function benchTasks(s: BenchTaskSizes = BENCH_TASK_SIZES): BenchTask[] {
  return [sotuPartyTask(s), sotuEraTask(s), authorshipTask(s), emailLmTask()];
}
