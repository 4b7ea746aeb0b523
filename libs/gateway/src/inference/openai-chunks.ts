import type { ChatCompletionDto } from './dto/chat.dto';
import type { TextCompletionDto } from './dto/inference.dto';
import { textPieces } from './openai-sse';

/**
 * OpenAI's stream chunks of a completion: the text in small pieces with `finish_reason: null`, a
 * last piece carrying the finish reason, and with `include_usage` a final chunk with `usage` and
 * no choices. Every chunk repeats the id, `created` and model of the answer.
 */
export function completionChunks(c: TextCompletionDto, includeUsage: boolean): object[] {
  const head = { id: c.id, object: 'text_completion' as const, created: c.created, model: c.model, model_version: c.model_version };
  const choice = c.choices[0]!;
  const pieces = textPieces(choice.text);
  const chunks: object[] = pieces.map((text) => ({ ...head, choices: [{ index: 0, text, finish_reason: null, logprobs: null }] }));
  chunks.push({ ...head, choices: [{ index: 0, text: '', finish_reason: choice.finish_reason, logprobs: null }] });
  if (includeUsage) chunks.push({ ...head, choices: [], usage: c.usage });
  return chunks;
}

/** OpenAI's `chat.completion.chunk`s of a chat completion: the role first, the content in pieces, the finish reason, the usage. */
export function chatChunks(c: ChatCompletionDto, includeUsage: boolean): object[] {
  const head = {
    id: c.id,
    object: 'chat.completion.chunk' as const,
    created: c.created,
    model: c.model,
    model_version: c.model_version,
    system_fingerprint: null,
  };
  const choice = c.choices[0]!;
  const chunk = (delta: object, finish: string | null): object => ({
    ...head,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  const chunks: object[] = [chunk({ role: 'assistant', content: '', refusal: null }, null)];
  for (const content of textPieces(choice.message.content)) chunks.push(chunk({ content }, null));
  chunks.push(chunk({}, choice.finish_reason));
  if (includeUsage) chunks.push({ ...head, choices: [], usage: c.usage });
  return chunks;
}
