import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadSpamAssassin, SPAM_ASSASSIN_LABELS } from './spam-assassin';
import { loadStateOfTheUnion } from './state-of-the-union';
import { loadMobyDick } from './moby-dick';

describe('when loading SpamAssassin with the default split', () => {
  const splits = loadSpamAssassin();
  const all = [...splits.train, ...splits.validation, ...splits.test];

  it('should split about 80/10/10 of the de-duplicated corpus', () => {
    assert.ok(all.length > 5500 && all.length <= 6046, `total ${all.length}`);
    const frac = (n: number) => n / all.length;
    assert.ok(Math.abs(frac(splits.validation.length) - 0.1) < 0.005, `validation ${splits.validation.length}`);
    assert.ok(Math.abs(frac(splits.test.length) - 0.1) < 0.005, `test ${splits.test.length}`);
    assert.equal(splits.train.length, all.length - splits.validation.length - splits.test.length);
  });

  it('should keep the splits disjoint and free of duplicate texts', () => {
    assert.equal(new Set(all.map((e) => e.text)).size, all.length);
  });

  it('should put both labels in every split, in the same proportion', () => {
    const spamShare = (rows: { label: string }[]) => rows.filter((r) => r.label === 'spam').length / rows.length;
    const overall = spamShare(all);
    assert.ok(overall > 0.25 && overall < 0.4, `spam share ${overall}`);
    for (const [name, rows] of Object.entries(splits)) {
      const labels = new Set(rows.map((r: { label: string }) => r.label));
      assert.deepEqual([...labels].sort(), [...SPAM_ASSASSIN_LABELS], name);
      assert.ok(Math.abs(spamShare(rows) - overall) < 0.01, `${name} spam share ${spamShare(rows)}`);
    }
  });

  it('should interleave the classes inside each split', () => {
    const first50 = new Set(splits.train.slice(0, 50).map((r) => r.label));
    assert.equal(first50.size, 2);
  });

  it('should give cleaned texts that start with the Subject, not routing headers', () => {
    const withSubject = all.filter((e) => e.text.startsWith('Subject: ')).length;
    assert.ok(withSubject / all.length > 0.95, `${withSubject} of ${all.length} start with Subject`);
    // A handful of spams embed a second, forwarded header block in their body; that is content.
    const routing = all.filter((e) => /Received: from|Return-Path:/.test(e.text.slice(0, 300))).length;
    assert.ok(routing / all.length < 0.01, `${routing} texts still start with routing headers`);
  });

  it('should return the same split for the same seed and another split for another seed', () => {
    const again = loadSpamAssassin({ seed: 42 });
    assert.deepEqual(again, splits);
    const other = loadSpamAssassin({ seed: 7 });
    assert.equal(other.test.length, splits.test.length);
    assert.notDeepEqual(other.test, splits.test);
  });

  it('should keep every e-mail when de-duplication is off', () => {
    const s = loadSpamAssassin({ dedupe: false, validationFraction: 0, testFraction: 0.5 });
    assert.equal(s.train.length + s.validation.length + s.test.length, 6046);
    assert.equal(s.validation.length, 0);
  });

  it('should reject fractions that leave no training data, saying how to fix them', () => {
    assert.throws(() => loadSpamAssassin({ validationFraction: 0.5, testFraction: 0.5 }), /must be below 1/);
    assert.throws(() => loadSpamAssassin({ testFraction: -0.1 }), /testFraction must be in \[0, 1\)/);
    assert.throws(() => loadSpamAssassin({ seed: 1.5 }), /seed must be an integer/);
  });
});

describe('when loading the State of the Union addresses', () => {
  it('should return 233 dated, named addresses in chronological order', () => {
    const sotu = loadStateOfTheUnion();
    assert.equal(sotu.length, 233);
    assert.equal(sotu[0]?.year, 1790);
    assert.equal(sotu[0]?.name, 'George Washington');
    assert.ok(sotu.every((a, i) => i === 0 || a.year >= (sotu[i - 1]?.year ?? 0)));
    assert.ok(sotu.every((a) => a.text.length > 1000));
  });
});

describe('when loading Moby Dick', () => {
  it('should return the 138 sections without the table of contents', () => {
    const book = loadMobyDick();
    assert.equal(book.length, 138);
    assert.equal(book[0]?.chapter, 'Etymology');
    assert.equal(book[2]?.chapter, '1');
    assert.ok(book[2]?.text.startsWith('Call me Ishmael.'));
    assert.equal(book.at(-1)?.chapter, 'Epilogue');
    assert.ok(!book.some((c) => c.chapter === 'Contents'));
  });
});
