import { Inject, Injectable } from '@nestjs/common';
import { ID_PATTERN } from '@cola/config';
import { ByteTokenizer, chatAnswer, chatPrompt, type ChatMessage } from '@cola/data';
import { JobStore } from '@cola/pipeline';
import type { GenerateResponse } from '@cola/proto';
import { newId, unixSeconds } from '../common/ids';
import { page, type Page } from '../common/pagination';
import { ApiError } from '../errors/api-error';
import { BASE_MODEL_PATTERN, type ResolvedGatewayOptions } from '../core/gateway-options';
import { GATEWAY_OPTIONS, JOB_STORE } from '../core/tokens';
import { fineTunedModelName } from '../jobs/job-view';
import type { ChatCompletionDto, ChatMessageDto } from './dto/chat.dto';
import type { UsageDto } from './dto/sampling.dto';
import type { ClassificationDto, ModelDto, TextCompletionDto } from './dto/inference.dto';
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
    const { res, maxTokens } = await this.generate(tenantId, model, prompt, o);
    return {
      id: newId.request('cmpl'),
      object: 'text_completion',
      created: unixSeconds(Date.now()),
      model,
      model_version: res.version,
      choices: [{ text: res.text, index: 0, finish_reason: res.completionTokens >= maxTokens ? 'length' : 'stop', logprobs: null }],
      usage: usageOf(prompt, res.completionTokens),
    };
  }

  /**
   * A chat completion: the conversation in the chat template (@cola/data `chatPrompt`, the same
   * layout chat training files are trained on), generated by the merger, and the answer cut at the
   * next role marker.
   */
  async chat(tenantId: string, model: string, messages: readonly ChatMessageDto[], o: SamplingOptions = {}): Promise<ChatCompletionDto> {
    const prompt = chatPrompt(messages.map(toChatMessage));
    const { res, maxTokens } = await this.generate(tenantId, model, prompt, o);
    const answer = chatAnswer(res.text);
    return {
      id: newId.request('chatcmpl'),
      object: 'chat.completion',
      created: unixSeconds(Date.now()),
      model,
      model_version: res.version,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: answer.text, refusal: null },
          finish_reason: answer.stopped || res.completionTokens < maxTokens ? 'stop' : 'length',
          logprobs: null,
        },
      ],
      usage: usageOf(prompt, res.completionTokens),
    };
  }

  /** Generates a continuation of `prompt` with a model the tenant may use (16 tokens, temperature 1 by default). */
  private async generate(
    tenantId: string,
    model: string,
    prompt: string,
    o: SamplingOptions,
  ): Promise<{ res: GenerateResponse; maxTokens: number }> {
    const maxTokens = o.maxTokens ?? 16;
    const resolved = await this.resolve(tenantId, model);
    const res = await this.merger.generate({
      model: resolved.merger,
      prompt,
      maxNewTokens: maxTokens,
      temperature: o.temperature ?? 1,
      seed: o.seed ?? 0,
    });
    return { res, maxTokens };
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
