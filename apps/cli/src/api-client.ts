/**
 * A small fetch client of the gateway's REST API (OpenAI fine-tuning shapes), for the `cola` CLI
 * and the demo. Every non-2xx answer becomes a {@link ColaApiError} carrying the gateway's
 * `{"error": {code, message, param}}`.
 */

/** A fine-tuning job as the gateway shows it (the fields the CLI reads). */
export interface Job {
  id: string;
  status: 'queued' | 'running' | 'cancelling' | 'succeeded' | 'failed' | 'cancelled';
  model: string;
  task: 'classification' | 'causal_lm';
  created_at: number;
  finished_at: number | null;
  fine_tuned_model: string | null;
  training_file: string;
  validation_file: string | null;
  method: { aux: { type: string; rank?: number }; interval: number; staleness: number };
  /** Values chosen from the data read `auto` until the gpu-host opens the job, then the values it runs with. */
  hyperparameters: {
    n_epochs: number | 'auto';
    batch_size: number | 'auto';
    learning_rate: number | 'auto';
    max_length: number | 'auto';
    max_windows: number | 'auto';
  };
  /** Share of the training file's tokens the windows leave out; null until the gpu-host opens the job. */
  dropped_token_share: number | null;
  error: { code: string; message: string; param: string | null } | null;
  progress: {
    step: number;
    total_steps: number;
    epoch: number;
    loss: number;
    tokens: number;
    bytes_transferred: number;
    aux_version: number;
    fit_tasks: number;
  } | null;
  /** `before`: the starting model's score; `value`: the final one (null while the job runs). */
  result: { metric: 'accuracy' | 'perplexity'; before?: number | null; value: number | null; count: number } | null;
}

/** One job event. `data` holds step, loss, tokens and bytes for metrics events. */
export interface JobEvent {
  id: string;
  created_at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
  type: 'metrics' | 'message';
  data: { step?: number; loss?: number; tokens?: number; bytes?: number } | null;
}

/** An uploaded file. */
export interface UploadedFile {
  id: string;
  filename: string;
  bytes: number;
  rows: number;
  kind?: string;
}

/** A paginated list. */
export interface ListPage<T> {
  data: T[];
  has_more: boolean;
  last_id: string | null;
}

/** The body of POST /v1/fine_tuning/jobs (see the gateway's CreateJobDto). */
export interface CreateJobRequest {
  model: string;
  training_file: string;
  validation_file?: string;
  task?: 'auto' | 'classification' | 'causal_lm';
  method?: {
    aux?: { type: 'lowrank' | 'linear' | 'mlp'; rank?: number; scale?: number; bias?: boolean; hidden?: number[] };
    interval?: number;
    staleness?: number;
    merged?: boolean;
  };
  hyperparameters?: { n_epochs?: number; batch_size?: number; learning_rate?: number; max_length?: number };
  seed?: number;
}

/** A failed API call, with the gateway's error fields. */
export class ColaApiError extends Error {
  override readonly name = 'ColaApiError';
  constructor(
    /** HTTP status (0 when the gateway could not be reached). */
    readonly status: number,
    /** The gateway's error code, e.g. `invalid_api_key`. */
    readonly code: string,
    message: string,
    /** The request field at fault, e.g. `hyperparameters.batch_size`. */
    readonly param: string | null = null,
  ) {
    super(message);
  }

  /** One line for a terminal: `error 401 invalid_api_key: ... (param: x)`. */
  describe(): string {
    return `error${this.status ? ` ${this.status}` : ''} ${this.code}: ${this.message}${this.param ? ` (param: ${this.param})` : ''}`;
  }
}

/** Options of {@link ColaApiClient}. */
export interface ColaApiClientOptions {
  /** Gateway base URL, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** Tenant API key (or the admin key for the admin routes). */
  key?: string;
  /** Per-request timeout in ms. Default 30 000. */
  timeoutMs?: number;
}

export class ColaApiClient {
  readonly baseUrl: string;

  constructor(private readonly opts: ColaApiClientOptions) {
    if (!/^https?:\/\//.test(opts.baseUrl))
      throw new ColaApiError(
        0,
        'invalid_api_url',
        `"${opts.baseUrl}" is not an http(s) URL; set COLA_API_URL or --api-url, e.g. http://127.0.0.1:3000`,
      );
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
  }

  /** A client of the same gateway with another key. */
  withKey(key: string): ColaApiClient {
    return new ColaApiClient({ ...this.opts, key });
  }

  async request<T>(method: string, path: string, body?: unknown, opts: { key?: string; form?: FormData } = {}): Promise<T> {
    const headers: Record<string, string> = {};
    const key = opts.key ?? this.opts.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let payload: string | FormData | undefined;
    if (opts.form) payload = opts.form;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (e) {
      throw new ColaApiError(
        0,
        'gateway_unreachable',
        `cannot reach the gateway at ${this.baseUrl} (${(e as Error).message}); start the stack with \`cola up\` or set COLA_API_URL`,
      );
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: reported below when the status says it failed
    }
    if (!res.ok) {
      const err = (parsed as { error?: { code?: string; message?: string; param?: string | null } } | undefined)?.error;
      throw new ColaApiError(
        res.status,
        err?.code ?? 'http_error',
        err?.message ?? (text.slice(0, 200) || res.statusText),
        err?.param ?? null,
      );
    }
    return parsed as T;
  }

  /** Creates a tenant; the answer carries its first API key (`api_key.key`, shown only once). */
  createTenant(
    id: string,
    name: string,
    adminKey: string,
  ): Promise<{ id: string; name: string | null; api_key: { id: string; key: string } }> {
    return this.request('POST', '/v1/admin/tenants', { id, name }, { key: adminKey });
  }

  createApiKey(tenantId: string, adminKey: string, name?: string): Promise<{ id: string; key: string }> {
    return this.request('POST', `/v1/admin/tenants/${encodeURIComponent(tenantId)}/api_keys`, name ? { name } : {}, { key: adminKey });
  }

  upload(content: string | Uint8Array, filename: string): Promise<UploadedFile> {
    const form = new FormData();
    form.append('purpose', 'fine-tune');
    form.append('file', new Blob([content], { type: 'application/jsonl' }), filename);
    return this.request('POST', '/v1/files', undefined, { form });
  }

  createJob(req: CreateJobRequest): Promise<Job> {
    return this.request('POST', '/v1/fine_tuning/jobs', req);
  }

  listJobs(limit = 20): Promise<ListPage<Job>> {
    return this.request('GET', `/v1/fine_tuning/jobs?limit=${limit}`);
  }

  getJob(id: string): Promise<Job> {
    return this.request('GET', `/v1/fine_tuning/jobs/${encodeURIComponent(id)}`);
  }

  cancelJob(id: string): Promise<Job> {
    return this.request('POST', `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/cancel`);
  }

  /** Events after `after` (an event id), oldest first. */
  events(id: string, after?: string, limit = 100): Promise<ListPage<JobEvent>> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (after) q.set('after', after);
    return this.request('GET', `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/events?${q}`);
  }

  /** Every event of a job after `after`, following the pages. */
  async allEvents(id: string, after?: string): Promise<JobEvent[]> {
    const out: JobEvent[] = [];
    for (;;) {
      const page = await this.events(id, after);
      out.push(...page.data);
      if (!page.has_more || page.data.length === 0) return out;
      after = page.data[page.data.length - 1]!.id;
    }
  }

  classify(
    model: string,
    input: string | string[],
  ): Promise<{ model_version: number; data: { label: string; scores: { label: string; score: number }[] }[] }> {
    return this.request('POST', '/v1/classifications', { model, input });
  }

  complete(
    model: string,
    prompt: string,
    maxTokens = 32,
    temperature = 0,
  ): Promise<{ model_version: number; choices: { text: string }[] }> {
    return this.request('POST', '/v1/completions', { model, prompt, max_tokens: maxTokens, temperature, seed: 0 });
  }
}

/** The millisecond time of an event, from its id (`ftevent-<ms>-<n>`, a Redis stream id); its `created_at` has only seconds. */
export function eventTimeMs(e: Pick<JobEvent, 'id' | 'created_at'>): number {
  const m = /^ftevent-(\d+)-\d+$/.exec(e.id);
  return m ? Number(m[1]) : e.created_at * 1000;
}
