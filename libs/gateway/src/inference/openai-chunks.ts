import type { AnswerStream } from './answer-stream';

/**
 * OpenAI's stream chunks of a completion, as the text is generated: one chunk per piece with
 * `finish_reason: null`, a last one carrying the finish reason, and with `include_usage` a final
 * chunk with `usage` and no choices. Every chunk repeats the id, `created` and model of the answer.
 */
export async function* completionChunks(a: AnswerStream, includeUsage: boolean): AsyncGenerator<object, void, undefined> {
  const head = { id: a.id, object: 'text_completion' as const, created: a.created, model: a.model, model_version: a.model_version };
  for await (const text of a.pieces) yield { ...head, choices: [{ index: 0, text, finish_reason: null, logprobs: null }] };
  const end = a.finish();
  yield { ...head, choices: [{ index: 0, text: '', finish_reason: end.finish_reason, logprobs: null }] };
  if (includeUsage) yield { ...head, choices: [], usage: end.usage };
}

/** OpenAI's `chat.completion.chunk`s, as the answer is generated: the role first, the content in pieces, the finish reason, the usage. */
export async function* chatChunks(a: AnswerStream, includeUsage: boolean): AsyncGenerator<object, void, undefined> {
  const head = {
    id: a.id,
    object: 'chat.completion.chunk' as const,
    created: a.created,
    model: a.model,
    model_version: a.model_version,
    system_fingerprint: null,
  };
  const chunk = (delta: object, finish: string | null): object => ({
    ...head,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  yield chunk({ role: 'assistant', content: '', refusal: null }, null);
  for await (const content of a.pieces) yield chunk({ content }, null);
  const end = a.finish();
  yield chunk({}, end.finish_reason);
  if (includeUsage) yield { ...head, choices: [], usage: end.usage };
}
