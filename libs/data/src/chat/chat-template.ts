/**
 * The chat template of the byte-level models (cola-tiny): the one way a conversation becomes text,
 * used both to train on chat files and to prompt at `/v1/chat/completions`, so a fine-tuned model
 * sees at inference exactly the layout it was trained on. Each message is its role marker on its
 * own line, then its content, then a newline:
 *
 *   <|system|>\nYou answer briefly.\n<|user|>\nHello?\n<|assistant|>\nHi!\n
 *
 * A prompt for the next assistant turn ends with `<|assistant|>\n`; the model's answer ends at its
 * end-of-sequence token (training appends one after every assistant turn) or at the next role
 * marker, whichever comes first.
 */

/** The roles a chat message may have. `developer` is OpenAI's newer name for `system`. */
export const CHAT_ROLES = ['system', 'developer', 'user', 'assistant'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

/** One message of a conversation. */
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** The marker line that opens a message of `role` (`developer` is written as `system`). */
export function roleMarker(role: ChatRole): string {
  return `<|${role === 'developer' ? 'system' : role}|>\n`;
}

/** Where a generated answer stops when the model does not emit its end-of-sequence token: the next role marker. */
export const CHAT_STOP = '<|';

/** The conversation as text, every message closed by a newline. */
export function renderChat(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `${roleMarker(m.role)}${m.content}\n`).join('');
}

/** The prompt that asks for the next assistant turn after `messages`. */
export function chatPrompt(messages: readonly ChatMessage[]): string {
  return `${renderChat(messages)}${roleMarker('assistant')}`;
}

/**
 * A generated continuation of {@link chatPrompt} cut at the next role marker: the assistant's
 * answer, and whether a marker ended it (a natural stop, as the end-of-sequence token is).
 */
export function chatAnswer(generated: string): { text: string; stopped: boolean } {
  const at = generated.indexOf(CHAT_STOP);
  if (at < 0) return { text: generated, stopped: false };
  return { text: generated.slice(0, at).replace(/\n$/, ''), stopped: true };
}

/**
 * {@link chatAnswer} for a continuation that arrives in pieces (streamed generation): `push`
 * returns the part of the answer that is now certain, holding back a trailing `<` or newline that
 * may still turn out to begin a role marker, and sets `stopped` once a marker ended the answer
 * (push nothing more then); `end` returns what was held back when the generation ended without
 * one. The returned pieces joined are exactly `chatAnswer(everything pushed).text`.
 */
export class ChatAnswerStream {
  private generated = '';
  private sent = 0;
  /** True once a role marker ended the answer. */
  stopped = false;

  push(piece: string): string {
    if (this.stopped) return '';
    this.generated += piece;
    const answer = chatAnswer(this.generated);
    if (answer.stopped) {
      this.stopped = true;
      return this.upTo(answer.text.length);
    }
    return this.upTo(this.generated.length - heldBack(this.generated));
  }

  end(): string {
    return this.stopped ? '' : this.upTo(this.generated.length);
  }

  private upTo(n: number): string {
    const out = this.generated.slice(this.sent, n);
    this.sent = Math.max(this.sent, n);
    return out;
  }
}

/** How many trailing characters of `text` may begin `\n<|` (the newline chatAnswer drops, then the marker). */
function heldBack(text: string): number {
  if (text.endsWith('\n<')) return 2;
  return text.endsWith('<') || text.endsWith('\n') ? 1 : 0;
}
