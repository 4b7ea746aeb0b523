import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsonlError, type JsonlErrorCode } from './jsonl-error';
import { parseJsonl } from './parse-jsonl';
import { toJsonl } from './to-jsonl';

interface BadCase {
  name: string;
  input: string | Uint8Array;
  code: JsonlErrorCode;
  line: number;
  field: string | null;
  message: RegExp;
  maxBytes?: number;
}

const BAD: BadCase[] = [
  { name: 'an empty file', input: '', code: 'empty_file', line: 0, field: null, message: /no rows/ },
  { name: 'only blank lines', input: '\n  \n\r\n\t\n', code: 'empty_file', line: 0, field: null, message: /no rows/ },
  {
    name: 'a non-JSON line',
    input: '{"text":"a","label":"x"}\n{"text": "b", "label": }\n',
    code: 'invalid_json',
    line: 2,
    field: null,
    message: /^line 2: not valid JSON/,
  },
  {
    name: 'a truncated last line after a blank line',
    input: '{"text":"a","label":"x"}\n\n{"text":"b"',
    code: 'invalid_json',
    line: 3,
    field: null,
    message: /^line 3: not valid JSON/,
  },
  {
    name: 'a JSON array line',
    input: '[1,2]\n',
    code: 'not_an_object',
    line: 1,
    field: null,
    message: /^line 1: expected a JSON object, got an array/,
  },
  { name: 'a JSON string line', input: '"hello"\n', code: 'not_an_object', line: 1, field: null, message: /got a string/ },
  { name: 'a null line', input: 'null\n', code: 'not_an_object', line: 1, field: null, message: /got null/ },
  {
    name: 'a missing label',
    input: '{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n{"text":"c"}\n',
    code: 'missing_field',
    line: 3,
    field: 'label',
    message: /^line 3: field "label" is missing/,
  },
  {
    name: 'a missing text',
    input: '{"label":1}\n',
    code: 'missing_field',
    line: 1,
    field: 'text',
    message: /^line 1: field "text" is missing/,
  },
  {
    name: 'a missing completion',
    input: '{"prompt":"Q: 2+2?","completion":" 4"}\n{"prompt":"Q: 3+3?"}\n',
    code: 'missing_field',
    line: 2,
    field: 'completion',
    message: /^line 2: field "completion" is missing/,
  },
  {
    name: 'a row with no known field',
    input: '{"input":"a","output":"b"}\n',
    code: 'missing_field',
    line: 1,
    field: null,
    message: /none of the fields/,
  },
  {
    name: 'an unknown row after classification rows',
    input: '{"text":"a","label":"x"}\n{"txt":"b"}\n',
    code: 'missing_field',
    line: 2,
    field: 'text',
    message: /^line 2: field "text" is missing/,
  },
  {
    name: 'a numeric text',
    input: '{"text":42,"label":"x"}\n',
    code: 'wrong_type',
    line: 1,
    field: 'text',
    message: /^line 1: field "text" must be a string, got a number/,
  },
  { name: 'a null prompt', input: '{"prompt":null,"completion":"b"}\n', code: 'wrong_type', line: 1, field: 'prompt', message: /got null/ },
  {
    name: 'an object completion',
    input: '{"prompt":"a","completion":{"t":1}}\n',
    code: 'wrong_type',
    line: 1,
    field: 'completion',
    message: /got an object/,
  },
  {
    name: 'a fractional label',
    input: '{"text":"a","label":1.5}\n',
    code: 'wrong_type',
    line: 1,
    field: 'label',
    message: /string or an integer, got the non-integer number 1.5/,
  },
  { name: 'a boolean label', input: '{"text":"a","label":true}\n', code: 'wrong_type', line: 1, field: 'label', message: /got a boolean/ },
  {
    name: 'a blank text',
    input: '{"text":"   ","label":"x"}\n',
    code: 'empty_value',
    line: 1,
    field: 'text',
    message: /field "text" is empty/,
  },
  {
    name: 'string and integer labels mixed',
    input: '{"text":"a","label":"spam"}\n{"text":"b","label":"ham"}\n\n{"text":"c","label":1}\n',
    code: 'inconsistent_label_type',
    line: 4,
    field: 'label',
    message: /^line 4: field "label" is a number but line 1 has a string label/,
  },
  {
    name: 'classification then completion rows',
    input: '{"text":"a","label":0}\n{"prompt":"p","completion":"c"}\n',
    code: 'mixed_kinds',
    line: 2,
    field: null,
    message: /^line 2: a \{"prompt","completion"\} row, but line 1 is a \{"text","label"\} row/,
  },
  {
    name: 'one row with both kinds of field',
    input: '{"text":"a","label":0,"prompt":"p"}\n',
    code: 'mixed_kinds',
    line: 1,
    field: null,
    message: /mixes/,
  },
  {
    name: 'input above maxBytes',
    input: '{"text":"é","label":"x"}\n'.repeat(10),
    maxBytes: 100,
    code: 'too_large',
    line: 0,
    field: null,
    message: /260 bytes, above the limit of 100/,
  },
  {
    name: 'invalid UTF-8 bytes',
    input: Uint8Array.from([...Buffer.from('{"text":"a","label":"x"}\n{"text":"'), 0xc3, 0x28, ...Buffer.from('","label":"y"}\n')]),
    code: 'invalid_utf8',
    line: 2,
    field: null,
    message: /^line 2: not valid UTF-8/,
  },
];

describe('when a JSONL upload is malformed', () => {
  for (const c of BAD) {
    it(`should reject ${c.name} with code ${c.code}, line ${c.line} and field ${c.field}`, () => {
      assert.throws(
        () => parseJsonl(c.input, c.maxBytes === undefined ? {} : { maxBytes: c.maxBytes }),
        (err: unknown) => {
          assert.ok(err instanceof JsonlError, `expected a JsonlError, got ${String(err)}`);
          assert.equal(err.code, c.code);
          assert.equal(err.line, c.line);
          assert.equal(err.field, c.field);
          assert.match(err.message, c.message);
          assert.deepEqual(JSON.parse(JSON.stringify(err)), { code: c.code, line: c.line, field: c.field, message: err.message });
          return true;
        },
      );
    });
  }

  it('should reject a meaningless maxBytes option as a programming error', () => {
    assert.throws(() => parseJsonl('{}', { maxBytes: -1 }), RangeError);
  });
});

describe('when a classification file is well formed', () => {
  const file = [
    '\uFEFF{"text": "Win money now!!!", "label": "spam", "id": 17}',
    '',
    '{"text": "Lunch at noon?", "label": "ham"}\r',
    '{"text": "naïve café 🐋", "label": "ham"}',
    '{"text": "FREE pills", "label": "spam"}',
  ].join('\n');

  it('should return the rows in order, without extra keys, and the sorted labels', () => {
    const ds = parseJsonl(file);
    assert.equal(ds.kind, 'classification');
    if (ds.kind !== 'classification') return;
    assert.deepEqual(ds.rows, [
      { text: 'Win money now!!!', label: 'spam' },
      { text: 'Lunch at noon?', label: 'ham' },
      { text: 'naïve café 🐋', label: 'ham' },
      { text: 'FREE pills', label: 'spam' },
    ]);
    assert.deepEqual(ds.labels, ['ham', 'spam']);
    assert.equal(ds.labelType, 'string');
  });

  it('should parse the same rows from bytes as from text', () => {
    assert.deepEqual(parseJsonl(new TextEncoder().encode(file)), parseJsonl(file));
  });

  it('should sort integer labels numerically', () => {
    const ds = parseJsonl('{"text":"a","label":10}\n{"text":"b","label":2}\n{"text":"c","label":-1}\n{"text":"d","label":2}\n');
    assert.ok(ds.kind === 'classification');
    assert.deepEqual(ds.labels, [-1, 2, 10]);
    assert.equal(ds.labelType, 'number');
  });

  it('should round-trip through toJsonl', () => {
    const ds = parseJsonl(file);
    const again = parseJsonl(toJsonl(ds.rows));
    assert.deepEqual(again, ds);
  });

  it('should accept a file exactly at maxBytes', () => {
    const text = '{"text":"a","label":"x"}\n';
    assert.equal(parseJsonl(text, { maxBytes: Buffer.byteLength(text) }).kind, 'classification');
  });
});

describe('when a completion file is well formed', () => {
  it('should return prompt/completion rows, allowing an empty prompt', () => {
    const rows = [
      { prompt: 'Q: capital of France?\nA:', completion: ' Paris' },
      { prompt: '', completion: 'Call me Ishmael.' },
    ];
    const text = toJsonl(rows);
    assert.equal(text.split('\n').length, 3, 'one line per row, newline-terminated');
    const ds = parseJsonl(text);
    assert.deepEqual(ds, { kind: 'completion', rows });
  });
});
