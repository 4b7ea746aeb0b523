import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chatAnswer, ChatAnswerStream } from './chat-template';

/** Every string of `length` characters over `alphabet`. */
function* strings(alphabet: readonly string[], length: number): Generator<string> {
  if (length === 0) {
    yield '';
    return;
  }
  for (const head of alphabet) for (const tail of strings(alphabet, length - 1)) yield head + tail;
}

/** Streams `text` one character at a time: the pieces sent, and where the stream stopped. */
function streamed(text: string): { pieces: string[]; stoppedAt: number | null } {
  const s = new ChatAnswerStream();
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i++) {
    pieces.push(s.push(text[i]!));
    if (s.stopped) return { pieces, stoppedAt: i + 1 };
  }
  pieces.push(s.end());
  return { pieces, stoppedAt: null };
}

describe('when a chat answer arrives in pieces', () => {
  it('should send exactly what chatAnswer cuts, for every text of up to 6 characters of a, newline, <, |', () => {
    let checked = 0;
    for (let n = 0; n <= 6; n++) {
      for (const text of strings(['a', '\n', '<', '|'], n)) {
        const { pieces, stoppedAt } = streamed(text);
        const whole = chatAnswer(text);
        assert.equal(pieces.join(''), whole.text, JSON.stringify(text));
        assert.equal(stoppedAt !== null, whole.stopped, JSON.stringify(text));
        if (stoppedAt !== null) assert.equal(stoppedAt, text.indexOf('<|') + 2, 'it stops with the marker, not later');
        checked++;
      }
    }
    assert.equal(checked, (4 ** 7 - 1) / 3);
  });

  it('should send text as soon as it cannot begin a marker, and hold back only what may', () => {
    const s = new ChatAnswerStream();
    assert.equal(s.push('Hi'), 'Hi');
    assert.equal(s.push(' there\n'), ' there', 'a newline may come before a marker');
    assert.equal(s.push('<'), '');
    assert.equal(s.push('b'), '\n<b', 'not a marker after all');
    assert.equal(s.push('.\n<|user|>'), '.');
    assert.equal(s.stopped, true);
    assert.equal(s.push('more'), '');
    assert.equal(s.end(), '');
  });
});
