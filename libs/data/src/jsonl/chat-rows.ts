import { CHAT_ROLES, chatPrompt, type ChatMessage, type ChatRole } from '../chat/chat-template';
import { JsonlError } from './jsonl-error';
import type { CompletionRow } from './jsonl-types';

/** Most messages in one chat row. */
export const MAX_CHAT_MESSAGES = 256;

const CHAT_SHAPE =
  'a chat row is {"messages": [{"role": "system"|"user"|"assistant", "content": string}, ...]} with at least one assistant message';

function kindOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A message's content: a string, or OpenAI's array of `{"type": "text", "text"}` parts, joined. */
function contentOf(value: unknown, line: number, field: string): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    return value
      .map((part: unknown, i) => {
        const p = part as { type?: unknown; text?: unknown } | null;
        if (typeof p !== 'object' || p === null || p.type !== 'text' || typeof p.text !== 'string') {
          throw new JsonlError(
            'wrong_type',
            line,
            `${field}.${i}`,
            'must be a {"type": "text", "text": string} part; only text is supported',
          );
        }
        return p.text;
      })
      .join('');
  }
  throw new JsonlError('wrong_type', line, field, `must be a string, got ${kindOfValue(value)}`);
}

/**
 * The completion rows of one chat row (OpenAI's fine-tuning format): one row per assistant turn,
 * whose prompt is the conversation before it in the chat template and whose completion is the
 * turn itself. The loss then falls on the assistant turns only, each predicted from everything
 * before it, as OpenAI trains. An assistant message with `"weight": 0` is context, not a target.
 *
 * @throws JsonlError naming the line and the `messages.N.field` at fault.
 */
export function chatRows(row: Record<string, unknown>, line: number): CompletionRow[] {
  const messages = row['messages'];
  if (!Array.isArray(messages)) {
    throw new JsonlError('wrong_type', line, 'messages', `must be an array of messages, got ${kindOfValue(messages)}; ${CHAT_SHAPE}`);
  }
  if (messages.length === 0) throw new JsonlError('empty_value', line, 'messages', `is empty; ${CHAT_SHAPE}`);
  if (messages.length > MAX_CHAT_MESSAGES) {
    throw new JsonlError('too_many_messages', line, 'messages', `has ${messages.length} messages, above ${MAX_CHAT_MESSAGES}`);
  }
  const seen: ChatMessage[] = [];
  const rows: CompletionRow[] = [];
  messages.forEach((raw: unknown, i) => {
    const at = `messages.${i}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new JsonlError('wrong_type', line, at, `must be a {"role", "content"} object, got ${kindOfValue(raw)}`);
    }
    const m = raw as Record<string, unknown>;
    if (!Object.hasOwn(m, 'role')) throw new JsonlError('missing_field', line, `${at}.role`, `is missing; ${CHAT_SHAPE}`);
    if (typeof m['role'] !== 'string' || !(CHAT_ROLES as readonly string[]).includes(m['role'])) {
      throw new JsonlError(
        'invalid_role',
        line,
        `${at}.role`,
        `must be one of ${CHAT_ROLES.join(', ')}, got ${JSON.stringify(m['role'])} (tool and function messages are not supported)`,
      );
    }
    const role = m['role'] as ChatRole;
    if (!Object.hasOwn(m, 'content')) throw new JsonlError('missing_field', line, `${at}.content`, 'is missing');
    const content = contentOf(m['content'], line, `${at}.content`);
    const weight = m['weight'];
    if (weight !== undefined && weight !== 0 && weight !== 1) {
      throw new JsonlError('wrong_type', line, `${at}.weight`, `must be 0 or 1, got ${JSON.stringify(weight)}`);
    }
    if (weight !== undefined && role !== 'assistant') {
      throw new JsonlError('wrong_type', line, `${at}.weight`, 'applies to assistant messages only');
    }
    if (role === 'assistant' && weight !== 0) {
      if (content.trim() === '')
        throw new JsonlError('empty_value', line, `${at}.content`, 'is empty; an assistant turn to learn needs text');
      rows.push({ prompt: chatPrompt(seen), completion: content });
    }
    seen.push({ role, content });
  });
  if (rows.length === 0) {
    throw new JsonlError('no_assistant_turn', line, 'messages', `has no assistant message to learn from; ${CHAT_SHAPE}`);
  }
  return rows;
}
