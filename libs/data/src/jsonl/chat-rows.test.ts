import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { completionBatches } from '../batching/completion-batches';
import { chatAnswer, chatPrompt } from '../chat/chat-template';
import { ByteTokenizer } from '../tokenizer/byte-tokenizer';
import { JsonlError, type JsonlErrorCode } from './jsonl-error';
import { parseJsonl } from './parse-jsonl';

const chat = (messages: unknown): string => JSON.stringify({ messages });

describe('when a chat-format (OpenAI) training file is parsed', () => {
  const file = [
    chat([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi?' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'Bye?' },
      { role: 'assistant', content: 'Bye.' },
    ]),
    chat([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Two ' },
          { type: 'text', text: 'parts' },
        ],
      },
      { role: 'assistant', content: 'skip me', weight: 0 },
      { role: 'user', content: 'again' },
      { role: 'assistant', content: 'learned' },
    ]),
  ].join('\n');

  it('should give one completion row per assistant turn, prompted with the conversation before it in the chat template', () => {
    const ds = parseJsonl(file);
    assert.equal(ds.kind, 'completion');
    assert.ok(ds.kind === 'completion');
    assert.equal(ds.format, 'chat');
    assert.deepEqual(ds.rows, [
      { prompt: '<|system|>\nBe brief.\n<|user|>\nHi?\n<|assistant|>\n', completion: 'Hello.' },
      { prompt: '<|system|>\nBe brief.\n<|user|>\nHi?\n<|assistant|>\nHello.\n<|user|>\nBye?\n<|assistant|>\n', completion: 'Bye.' },
      { prompt: '<|user|>\nTwo parts\n<|assistant|>\nskip me\n<|user|>\nagain\n<|assistant|>\n', completion: 'learned' },
    ]);
  });

  it('should put the loss on the assistant turns only (the completion batches’ lossMask)', () => {
    const ds = parseJsonl(file);
    const tok = new ByteTokenizer();
    const [b] = [...completionBatches(ds.rows as { prompt: string; completion: string }[], tok, { batchSize: 3, maxLength: 256 })];
    assert.ok(b);
    for (let r = 0; r < b.batch; r++) {
      const ids = [...b.ids.subarray(r * b.seqLen, (r + 1) * b.seqLen)];
      const targets = ids.filter((_, i) => b.lossMask[r * b.seqLen + i] === 1);
      const row = (ds.rows as { completion: string }[])[b.indices[r]!]!;
      assert.deepEqual(targets, [...tok.encode(row.completion), tok.eosId], `row ${r}: only the assistant turn and its eos are targets`);
    }
  });

  it('should build inference prompts the same way and cut answers at the next role marker', () => {
    assert.equal(chatPrompt([{ role: 'user', content: 'Hi?' }]), '<|user|>\nHi?\n<|assistant|>\n');
    assert.equal(chatPrompt([{ role: 'developer', content: 'x' }]), '<|system|>\nx\n<|assistant|>\n');
    assert.deepEqual(chatAnswer('Hello.\n<|user|>\nmore'), { text: 'Hello.', stopped: true });
    assert.deepEqual(chatAnswer('Hello'), { text: 'Hello', stopped: false });
  });
});

describe('when a chat row is malformed', () => {
  const cases: { name: string; line: string; code: JsonlErrorCode; field: string | null }[] = [
    { name: 'messages not an array', line: JSON.stringify({ messages: 'hi' }), code: 'wrong_type', field: 'messages' },
    { name: 'no messages', line: chat([]), code: 'empty_value', field: 'messages' },
    { name: 'a message that is a string', line: chat(['hi']), code: 'wrong_type', field: 'messages.0' },
    { name: 'a missing role', line: chat([{ content: 'x' }]), code: 'missing_field', field: 'messages.0.role' },
    { name: 'a tool role', line: chat([{ role: 'tool', content: 'x' }]), code: 'invalid_role', field: 'messages.0.role' },
    { name: 'a missing content', line: chat([{ role: 'user' }]), code: 'missing_field', field: 'messages.0.content' },
    { name: 'a numeric content', line: chat([{ role: 'user', content: 3 }]), code: 'wrong_type', field: 'messages.0.content' },
    {
      name: 'an image part',
      line: chat([{ role: 'user', content: [{ type: 'image_url', image_url: 'x' }] }]),
      code: 'wrong_type',
      field: 'messages.0.content.0',
    },
    { name: 'no assistant turn', line: chat([{ role: 'user', content: 'x' }]), code: 'no_assistant_turn', field: 'messages' },
    {
      name: 'only weight-0 assistant turns',
      line: chat([
        { role: 'user', content: 'x' },
        { role: 'assistant', content: 'y', weight: 0 },
      ]),
      code: 'no_assistant_turn',
      field: 'messages',
    },
    {
      name: 'an empty assistant turn',
      line: chat([
        { role: 'user', content: 'x' },
        { role: 'assistant', content: ' ' },
      ]),
      code: 'empty_value',
      field: 'messages.1.content',
    },
    {
      name: 'a weight of 0.5',
      line: chat([
        { role: 'user', content: 'x' },
        { role: 'assistant', content: 'y', weight: 0.5 },
      ]),
      code: 'wrong_type',
      field: 'messages.1.weight',
    },
    {
      name: 'a chat row mixed with prompt/completion fields',
      line: JSON.stringify({ messages: [], prompt: 'x' }),
      code: 'mixed_kinds',
      field: null,
    },
  ];
  for (const c of cases) {
    it(`should reject ${c.name} with the row number and the field`, () => {
      const good = chat([
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
      ]);
      assert.throws(
        () => parseJsonl(`${good}\n${c.line}\n`),
        (e: unknown) => e instanceof JsonlError && e.code === c.code && e.line === 2 && e.field === c.field && /^line 2: /.test(e.message),
      );
    });
  }

  it('should reject a prompt/completion row in a chat file as mixed kinds', () => {
    const good = chat([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
    ]);
    assert.throws(
      () => parseJsonl(`${good}\n{"prompt":"p","completion":"c"}\n`),
      (e: unknown) => e instanceof JsonlError && e.code === 'mixed_kinds' && e.line === 2,
    );
  });
});
