/** A response as the tests look at it. */
export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: T;
  /** The raw body text. */
  text: string;
}

/** Options of one request. */
export interface RequestOptions {
  /** Bearer key; omitted means no Authorization header. */
  key?: string;
  /** JSON body. */
  json?: unknown;
  /** Raw body (sent as is, with `headers`' content type). */
  raw?: string | Uint8Array;
  /** multipart/form-data body. */
  form?: FormData;
  headers?: Record<string, string>;
}

/** The error body every failing route must answer with. */
export interface ErrorShape {
  error: { code: string; message: string; param: string | null };
}

/** A thin fetch client of the gateway's HTTP API. */
export class GatewayClient {
  constructor(readonly baseUrl: string) {}

  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
    let body: RequestInit['body'];
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.raw !== undefined) {
      body = opts.raw;
    } else if (opts.form) {
      body = opts.form;
    }
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  get<T = unknown>(path: string, key?: string): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path, { key });
  }

  post<T = unknown>(path: string, json: unknown, key?: string): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, { key, json });
  }

  /** Uploads `content` as a JSONL file. */
  upload<T = unknown>(content: string | Uint8Array, key: string, filename = 'train.jsonl', purpose = 'fine-tune'): Promise<ApiResponse<T>> {
    const form = new FormData();
    form.append('purpose', purpose);
    form.append('file', new Blob([content], { type: 'application/jsonl' }), filename);
    return this.request<T>('POST', '/v1/files', { key, form });
  }
}
