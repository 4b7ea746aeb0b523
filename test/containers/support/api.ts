/** A minimal client of the gateway's HTTP API for the container stack test. */
export interface ApiResponse<T> {
  readonly status: number;
  readonly body: T;
  readonly text: string;
}

export class Api {
  constructor(readonly baseUrl: string) {}

  private async send<T>(method: string, path: string, key: string, body?: RequestInit['body'], json = true): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (json && body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T, text };
  }

  get<T>(path: string, key: string): Promise<ApiResponse<T>> {
    return this.send<T>('GET', path, key);
  }

  post<T>(path: string, json: unknown, key: string): Promise<ApiResponse<T>> {
    return this.send<T>('POST', path, key, JSON.stringify(json));
  }

  /** POST /v1/files (multipart), purpose fine-tune. */
  upload<T>(content: string, key: string, filename: string): Promise<ApiResponse<T>> {
    const form = new FormData();
    form.append('purpose', 'fine-tune');
    form.append('file', new Blob([content], { type: 'application/jsonl' }), filename);
    return this.send<T>('POST', '/v1/files', key, form, false);
  }
}
