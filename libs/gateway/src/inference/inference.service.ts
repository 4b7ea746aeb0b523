import { Inject, Injectable } from '@nestjs/common';
import { ID_PATTERN } from '@cola/config';
import { ByteTokenizer, ChatAnswerStream, chatPrompt, type ChatMessage } from '@cola/data';
import { JobStore } from '@cola/pipeline';
import type { GenerateRequest } from '@cola/proto';
import { newId, unixSeconds } from '../common/ids';
import { page, type Page } from '../common/pagination';
import { ApiError } from '../errors/api-error';
import { BASE_MODEL_PATTERN, type ResolvedGatewayOptions } from '../core/gateway-options';
import { GATEWAY_OPTIONS, JOB_STORE } from '../core/tokens';
import { fineTunedModelName } from '../jobs/job-view';
import type { ChatCompletionDto, ChatMessageDto } from './dto/chat.dto';
import type { UsageDto } from './dto/sampling.dto';
import type { ClassificationDto, ModelDto, TextCompletionDto } from './dto/inference.dto';
import { collectAnswer, type AnswerStream, type FinishReason } from './answer-stream';
import { MergerClient } from './merger-client';

/** The name the merger serves the base model under. */
const MERGER_BASE = 'base';

/** Classify on a base model that is a pretrained language model: what it is and what to do instead. */
function baseNotAClassifier(model: string): ApiError {
  return new ApiError(
    400,
    'unsupported_for_model',
    `${model} is a pretrained language model with no classifier, so it has no labels to choose from. ` +
      'Fine-tune it on a classification file ({"text", "label"} rows) with POST /v1/fine_tuning/jobs, then classify with the ' +
      `ft:${model}:... model the job produces (with a validation_file, the job's result.before is the starting accuracy). ` +
      'To continue text with this model, use /v1/completions.',
    'model',
  );
}
/** Most fine-tuned models listed per tenant (newest jobs first). */
const MAX_LISTED_JOBS = 1000;

/** The byte-level models' tokenizer: prompt tokens for `usage` (the merger reports the completion's). */
const TOKENIZER = new ByteTokenizer();

/** Tokens generated when a request gives no max_tokens (OpenAI's default for completions). */
const DEFAULT_MAX_TOKENS = 16;

/** Sampling settings of a completion or chat completion. */
export interface SamplingOptions {
  maxTokens?: number;
  temperature?: number;
  seed?: number;
}

/** A model name resolved for one tenant. */
interface ResolvedModel {
  /** The name to send to the merger. */
  merger: string;
}

/**
 * Inference for tenants: which models a tenant may use (the base models, and the fine-tuned
 * models of its own succeeded jobs), and classification and completion through the merger.
 * A model of another tenant, a malformed name and an unknown one all answer the same 404.
 */
@Injectable()
export class InferenceService {
  constructor(
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(MergerClient) private readonly merger: MergerClient,
    @Inject(GATEWAY_OPTIONS) private readonly options: ResolvedGatewayOptions,
  ) {}

  /** When this gateway started serving its base models: their `created` (an integer, as OpenAI's). */
  private readonly baseCreated = unixSeconds(Date.now());

  async models(tenantId: string): Promise<Page<ModelDto>> {
    const base: ModelDto[] = this.options.baseModels.map((id) => ({
      id,
      object: 'model',
      created: this.baseCreated,
      owned_by: 'system',
    }));
    const ids = await this.store.byTenant.newest(tenantId, MAX_LISTED_JOBS);
    const tuned: ModelDto[] = [];
    for (const id of ids) {
      const rec = await this.store.get(id);
      if (rec?.status === 'succeeded' && rec.spec.tenantId === tenantId) {
        tuned.push({
          id: fineTunedModelName(rec.spec),
          object: 'model',
          created: unixSeconds(rec.finishedAt ?? rec.createdAt),
          owned_by: tenantId,
        });
      }
    }
    return page([...base, ...tuned], false, (m) => m.id);
  }

  async model(tenantId: string, name: string): Promise<ModelDto> {
    const found = (await this.models(tenantId)).data.find((m) => m.id === name);
    if (!found) throw modelNotFound(name);
    return found;
  }

  async classify(tenantId: string, model: string, input: string | string[]): Promise<ClassificationDto> {
    const resolved = await this.resolve(tenantId, model);
    const texts = typeof input === 'string' ? [input] : input;
    const res = await this.merger.classify({ model: resolved.merger, texts }).catch((e: unknown) => {
      // The merger names the base model by its internal name; say it in the user's terms.
      if (resolved.merger === MERGER_BASE && e instanceof ApiError && e.code === 'unsupported_for_model') throw baseNotAClassifier(model);
      throw e;
    });
    // JSON has no NaN: a non-finite score would go out as null, which reads as "not computed".
    if (res.results.some((r) => r.scores.some((sc) => !Number.isFinite(sc.score)))) {
      throw new ApiError(
        502,
        'non_finite_output',
        `The model ${model} produced scores that are not finite numbers (its weights diverged); fine-tune it again with a lower learning rate`,
        'model',
      );
    }
    return {
      id: newId.request('clf'),
      object: 'classification',
      created: unixSeconds(Date.now()),
      model,
      model_version: res.version,
      data: res.results.map((r, index) => ({
        object: 'classification.result',
        index,
        label: r.label,
        scores: r.scores.map((s) => ({ label: s.label, score: s.score })),
      })),
    };
  }

  async complete(tenantId: string, model: string, prompt: string, o: SamplingOptions = {}): Promise<TextCompletionDto> {
    const maxTokens = o.maxTokens ?? DEFAULT_MAX_TOKENS;
    const resolved = await this.resolve(tenantId, model);
    const res = await this.merger.generate(generateRequest(resolved, prompt, o));
    return {
      id: newId.request('cmpl'),
      object: 'text_completion',
      created: unixSeconds(Date.now()),
      model,
      model_version: res.version,
      choices: [{ text: res.text, index: 0, finish_reason: finishReason(res.completionTokens, maxTokens), logprobs: null }],
      usage: usageOf(prompt, res.completionTokens),
    };
  }

  /**
   * A completion as it is generated (`stream: true`): resolves once the merger accepted the
   * request, so a bad model or bad sampling settings are still an ordinary JSON error. Aborting
   * `signal` (the client went away) stops the generation.
   */
  completeStream(tenantId: string, model: string, prompt: string, o: SamplingOptions, signal: AbortSignal): Promise<AnswerStream> {
    return this.startAnswer('cmpl', tenantId, model, prompt, o, signal);
  }

  /**
   * A chat completion: the conversation in the chat template (@cola/data `chatPrompt`, the same
   * layout chat training files are trained on), generated by the merger, and the answer cut at the
   * next role marker.
   */
  async chat(
    tenantId: string,
    model: string,
    messages: readonly ChatMessageDto[],
    o: SamplingOptions,
    signal: AbortSignal,
  ): Promise<ChatCompletionDto> {
    const stream = await this.chatStream(tenantId, model, messages, o, signal);
    const answer = await collectAnswer(stream);
    return {
      id: stream.id,
      object: 'chat.completion',
      created: stream.created,
      model,
      model_version: stream.model_version,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: answer.text, refusal: null },
          finish_reason: answer.finish_reason,
          logprobs: null,
        },
      ],
      usage: answer.usage,
    };
  }

  /**
   * {@link chat} as it is generated. The generation stops as soon as a role marker ends the answer
   * (streamed or not, the same tokens are generated and counted), or when `signal` aborts.
   */
  async chatStream(
    tenantId: string,
    model: string,
    messages: readonly ChatMessageDto[],
    o: SamplingOptions,
    signal: AbortSignal,
  ): Promise<AnswerStream> {
    const prompt = chatPrompt(messages.map(toChatMessage));
    return this.startAnswer('chatcmpl', tenantId, model, prompt, o, signal, new ChatAnswerStream());
  }

  /**
   * Starts GenerateStream on a model the tenant may use and waits for the merger's first message
   * (the request is accepted), so every refusal comes before the caller answers anything. With
   * `cut`, the text goes through it and the generation stops where it ends the answer.
   */
  private async startAnswer(
    idPrefix: 'cmpl' | 'chatcmpl',
    tenantId: string,
    model: string,
    prompt: string,
    o: SamplingOptions,
    signal: AbortSignal,
    cut?: ChatAnswerStream,
  ): Promise<AnswerStream> {
    const maxTokens = o.maxTokens ?? DEFAULT_MAX_TOKENS;
    const resolved = await this.resolve(tenantId, model);
    const it = this.merger.generateStream(generateRequest(resolved, prompt, o), signal);
    const first = await it.next();
    if (first.done) throw new ApiError(502, 'inference_error', 'The inference service ended the answer before it started');
    let tokens = 0;
    async function* pieces(): AsyncGenerator<string, void, undefined> {
      // Leaving this loop early (the answer is cut, or the reader stopped) cancels the merger's call.
      for await (const m of { [Symbol.asyncIterator]: () => it }) {
        tokens = m.completionTokens;
        const text = cut ? cut.push(m.text) : m.text;
        if (text) yield text;
        if (cut?.stopped) break;
      }
      const rest = cut?.end();
      if (rest) yield rest;
    }
    return {
      id: newId.request(idPrefix),
      created: unixSeconds(Date.now()),
      model,
      model_version: first.value.version,
      pieces: pieces(),
      finish: () => ({ finish_reason: cut?.stopped ? 'stop' : finishReason(tokens, maxTokens), usage: usageOf(prompt, tokens) }),
    };
  }

  /**
   * Checks that the tenant may use `name` and maps it to the merger's name: a base model is
   * `base`; `ft:<base>:<tenant>:<job>` must be the tenant's own job on that base, and succeeded
   * (a job still training answers 409 `model_not_ready`).
   */
  async resolve(tenantId: string, name: string): Promise<ResolvedModel> {
    if (this.options.baseModels.includes(name)) return { merger: MERGER_BASE };
    const parts = name.split(':');
    const [ft, base, owner, jobId] = parts;
    if (parts.length !== 4 || ft !== 'ft' || !BASE_MODEL_PATTERN.test(base ?? '') || owner !== tenantId || !ID_PATTERN.test(jobId ?? ''))
      throw modelNotFound(name);
    const rec = await this.store.get(jobId!);
    if (!rec || rec.spec.tenantId !== tenantId || rec.spec.baseModel !== base) throw modelNotFound(name);
    if (rec.status !== 'succeeded') {
      throw new ApiError(
        409,
        'model_not_ready',
        `Model ${name} is not ready: its job is ${rec.status}; it can be used once the job succeeded`,
        'model',
      );
    }
    return { merger: name };
  }
}

/** The merger's request (temperature 1 unless given, as OpenAI's default). */
function generateRequest(resolved: ResolvedModel, prompt: string, o: SamplingOptions): GenerateRequest {
  return {
    model: resolved.merger,
    prompt,
    maxNewTokens: o.maxTokens ?? DEFAULT_MAX_TOKENS,
    temperature: o.temperature ?? 1,
    seed: o.seed ?? 0,
  };
}

/** `length` when the answer used every token it was allowed, else `stop` (it ended itself). */
function finishReason(completionTokens: number, maxTokens: number): FinishReason {
  return completionTokens >= maxTokens ? 'length' : 'stop';
}

/** A request message as the template's message (text parts joined). */
function toChatMessage(m: ChatMessageDto): ChatMessage {
  return { role: m.role, content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('') };
}

/** OpenAI's usage: the prompt's tokens (an empty prompt is one end-of-sequence token, as the merger encodes it). */
function usageOf(prompt: string, completionTokens: number): UsageDto {
  const promptTokens = Math.max(1, TOKENIZER.encode(prompt).length);
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

function modelNotFound(name: string): ApiError {
  return new ApiError(
    404,
    'model_not_found',
    `The model ${JSON.stringify(name)} does not exist or you do not have access to it; see GET /v1/models`,
    'model',
  );
}
