/**
 * Generated bad-input cases: every bounded number at and beyond its bounds, every id route with
 * every malformed id, every cursor and limit, bodies that do not decode. Each case is a request
 * and the 4xx it must answer in the API's error shape (or, for `accept`, the 2xx it must get).
 */

/** One request of the table. */
export interface TableRequest {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  json?: unknown;
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
  /** Send without the tenant key. */
  noKey?: boolean;
}

/** One generated case. */
export interface TableCase {
  name: string;
  request: TableRequest;
  status: number;
  /** The error code; undefined for accepted requests or when any 4xx code will do. */
  code?: string;
  /** The error `param`; undefined = not checked. */
  param?: string | null;
}

/** A number field of a request body and its documented bounds. */
interface NumberField {
  /** Dotted API path, as the error's `param`. */
  param: string;
  /** Builds the request that carries `value` in this field. */
  request: (value: unknown) => TableRequest;
  min: number;
  max: number;
  /** Bounds excluded (a value must be strictly inside). */
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
  integer?: boolean;
  /** Accepts "auto" (hyperparameters). */
  auto?: boolean;
  /** The value at a bound is accepted by the create-job route and makes a job: test that apart. */
  createsJob?: boolean;
}

/** Values beyond a number field's bounds, and of the wrong type. */
function beyond(f: NumberField): [string, unknown][] {
  const span = Math.max(1, Math.abs(f.max - f.min));
  const out: [string, unknown][] = [
    ['below its minimum', f.exclusiveMin ? f.min : f.min - (f.integer ? 1 : span / 1000)],
    ['above its maximum', f.exclusiveMax ? f.max : f.max + (f.integer ? 1 : span / 1000)],
    ['a string', 'x1'],
    ['a numeric string', String(f.max)],
    ['a boolean', true],
    ['an array', [f.min]],
    ['an object', { value: f.min }],
    ['huge', 1e308],
  ];
  if (f.integer) out.push(['a fraction', f.min + 0.5]);
  if (!f.auto) out.push(['"auto"', 'auto']);
  return out;
}

/** Values at a number field's bounds, which must be accepted. */
function atBounds(f: NumberField): [string, unknown][] {
  const out: [string, unknown][] = [];
  const eps = f.integer ? 1 : Math.min(1e-6, (f.max - f.min) / 1e6);
  out.push([f.exclusiveMin ? 'just above its minimum' : 'at its minimum', f.exclusiveMin ? f.min + eps : f.min]);
  out.push([f.exclusiveMax ? 'just below its maximum' : 'at its maximum', f.exclusiveMax ? f.max - eps : f.max]);
  return out;
}

/** The malformed forms of an id in a URL path. */
export const MALFORMED_IDS: readonly [string, string][] = [
  ['a 300-character id', 'a'.repeat(300)],
  ['an id with a colon', 'file:x'],
  ['an id with a space', encodeURIComponent('ftjob x')],
  ['an id with an encoded slash', '%2F..%2Fetc'],
  ['an id with a NUL', '%00'],
  ['an emoji id', encodeURIComponent('ftjob-😀')],
  ['an id with quotes', encodeURIComponent(`ftjob-'"`)],
  ['a Redis glob', encodeURIComponent('ftjob-*')],
];

/** The malformed forms of an `after` cursor. */
export const MALFORMED_CURSORS: readonly [string, string][] = [
  ['a cursor with a glob', 'ftjob-*'],
  ['a cursor with a colon', 'a:b'],
  ['a 300-character cursor', 'x'.repeat(300)],
  ['an unknown cursor', 'file-AAAAAAAAAAAAAAAAAAAAAAAA'],
];

/** The malformed forms of an event cursor (a stream id behind a prefix). */
export const MALFORMED_EVENT_CURSORS: readonly [string, string][] = [
  ['an event id beyond 64 bits', 'ftevent-99999999999999999999-0'],
  ['an event id with a sequence beyond 64 bits', 'ftevent-1-99999999999999999999'],
  ['an event id without a sequence', 'ftevent-1'],
  ['an event id with letters', 'ftevent-abc-0'],
  ['an event id with a negative time', 'ftevent--1-0'],
  ['a bare stream id', '1-0'],
  ['a Redis range token', encodeURIComponent('ftevent-+')],
];

/** Every malformed `limit`. */
export const MALFORMED_LIMITS: readonly [string, string][] = [
  ['limit 0', '0'],
  ['a negative limit', '-1'],
  ['limit 101', '101'],
  ['a fractional limit', '1.5'],
  ['a word as limit', 'ten'],
  ['a huge limit', '99999999999999999999'],
];

/** Inputs the table is built from: ids that exist, and request builders. */
export interface TableInputs {
  trainingFile: string;
  jobId: string;
}

/** The number fields of every route that takes one. */
function numberFields(t: TableInputs): NumberField[] {
  const job = (over: Record<string, unknown>): TableRequest => ({
    method: 'POST',
    path: '/v1/fine_tuning/jobs',
    json: { model: 'cola-tiny', training_file: t.trainingFile, ...over },
  });
  const hp = (name: string) => (v: unknown) => job({ hyperparameters: { [name]: v } });
  const sgd = (name: string) => (v: unknown) => job({ hyperparameters: { optimizer: 'sgd', [name]: v } });
  const aux = (type: string, name: string) => (v: unknown) => job({ method: { aux: { type, [name]: v } } });
  const m = (name: string) => (v: unknown) => job({ method: { [name]: v } });
  const cmpl =
    (name: string) =>
    (v: unknown): TableRequest => ({
      method: 'POST',
      path: '/v1/completions',
      json: { model: 'cola-tiny', prompt: 'hi', [name]: v },
    });
  const chat =
    (name: string) =>
    (v: unknown): TableRequest => ({
      method: 'POST',
      path: '/v1/chat/completions',
      json: { model: 'cola-tiny', messages: [{ role: 'user', content: 'hi' }], [name]: v },
    });
  return [
    { param: 'hyperparameters.n_epochs', request: hp('n_epochs'), min: 1, max: 1000, integer: true, auto: true, createsJob: true },
    { param: 'hyperparameters.batch_size', request: hp('batch_size'), min: 1, max: 4096, integer: true, auto: true, createsJob: true },
    {
      param: 'hyperparameters.learning_rate',
      request: hp('learning_rate'),
      min: 0,
      max: 10,
      exclusiveMin: true,
      auto: true,
      createsJob: true,
    },
    {
      param: 'hyperparameters.learning_rate_multiplier',
      request: hp('learning_rate_multiplier'),
      min: 0,
      max: 1000,
      exclusiveMin: true,
      auto: true,
      createsJob: true,
    },
    { param: 'hyperparameters.weight_decay', request: hp('weight_decay'), min: 0, max: 1, auto: true, createsJob: true },
    { param: 'hyperparameters.momentum', request: sgd('momentum'), min: 0, max: 1, exclusiveMax: true, auto: true, createsJob: true },
    { param: 'hyperparameters.max_length', request: hp('max_length'), min: 1, max: 4096, integer: true, auto: true, createsJob: true },
    { param: 'hyperparameters.max_windows', request: hp('max_windows'), min: 1, max: 64, integer: true, auto: true, createsJob: true },
    {
      param: 'hyperparameters.warmup_fraction',
      request: hp('warmup_fraction'),
      min: 0,
      max: 1,
      exclusiveMin: true,
      exclusiveMax: true,
      auto: true,
      createsJob: true,
    },
    { param: 'seed', request: (v) => job({ seed: v }), min: 0, max: 2147483647, integer: true, createsJob: true },
    { param: 'method.aux.rank', request: aux('lowrank', 'rank'), min: 1, max: 1024, integer: true, createsJob: true },
    { param: 'method.aux.scale', request: aux('lowrank', 'scale'), min: 0, max: 1024, exclusiveMin: true, createsJob: true },
    { param: 'method.aux.dropout', request: aux('lowrank', 'dropout'), min: 0, max: 1, exclusiveMax: true, createsJob: true },
    { param: 'method.interval', request: m('interval'), min: 1, max: 1024, integer: true, auto: true, createsJob: true },
    { param: 'method.staleness', request: m('staleness'), min: 1, max: 64, integer: true, auto: true, createsJob: true },
    { param: 'max_tokens', request: cmpl('max_tokens'), min: 1, max: 1024, integer: true },
    { param: 'temperature', request: cmpl('temperature'), min: 0, max: 2 },
    { param: 'seed', request: cmpl('seed'), min: 0, max: 2147483647, integer: true },
    { param: 'max_tokens', request: chat('max_tokens'), min: 1, max: 1024, integer: true },
    { param: 'max_completion_tokens', request: chat('max_completion_tokens'), min: 1, max: 1024, integer: true },
    { param: 'temperature', request: chat('temperature'), min: 0, max: 2 },
    { param: 'n', request: chat('n'), min: 1, max: 1, integer: true },
  ];
}

/** Every number field beyond its bounds or of the wrong type: a 400 naming the field. */
export function numberBoundCases(t: TableInputs): TableCase[] {
  return numberFields(t).flatMap((f) =>
    beyond(f).map(([what, value]) => ({
      name: `${f.request(0).path} ${f.param} ${what} (${JSON.stringify(value)})`,
      request: f.request(value),
      status: 400,
      code: 'invalid_request',
      param: f.param,
    })),
  );
}

/** Every create-job number field at its bounds: accepted (a job is created). */
export function numberAcceptedCases(t: TableInputs): TableCase[] {
  return numberFields(t)
    .filter((f) => f.createsJob)
    .flatMap((f) =>
      atBounds(f).map(([what, value]) => ({
        name: `${f.param} ${what} (${JSON.stringify(value)})`,
        request: f.request(value),
        status: 200,
      })),
    );
}

/** Every route that takes an id, with every malformed id: the same 404 as a missing one. */
export function malformedIdCases(): TableCase[] {
  const routes: [TableRequest['method'], (id: string) => string][] = [
    ['GET', (id) => `/v1/files/${id}`],
    ['GET', (id) => `/v1/files/${id}/content`],
    ['DELETE', (id) => `/v1/files/${id}`],
    ['GET', (id) => `/v1/fine_tuning/jobs/${id}`],
    ['POST', (id) => `/v1/fine_tuning/jobs/${id}/cancel`],
    ['GET', (id) => `/v1/fine_tuning/jobs/${id}/events`],
    ['GET', (id) => `/v1/fine_tuning/jobs/${id}/checkpoints`],
    ['GET', (id) => `/v1/fine_tuning/jobs/${id}/adapter`],
    ['GET', (id) => `/v1/fine_tuning/jobs/${id}/adapter/config`],
    ['GET', (id) => `/v1/models/${id}`],
  ];
  return routes.flatMap(([method, path]) =>
    MALFORMED_IDS.map(([what, id]) => ({
      name: `${method} ${path(':id')} with ${what}`,
      request: { method, path: path(id), ...(method === 'POST' ? { json: {} } : {}) },
      status: 404,
    })),
  );
}

/** Every paged list with every malformed cursor and limit. */
export function cursorCases(t: TableInputs): TableCase[] {
  const lists = ['/v1/files', '/v1/fine_tuning/jobs', `/v1/fine_tuning/jobs/${t.jobId}/checkpoints`];
  const events = `/v1/fine_tuning/jobs/${t.jobId}/events`;
  const out: TableCase[] = [];
  // A cursor longer than any id fails the query's own length rule first.
  const codeOf = (c: string): { code: string; param?: string } =>
    c.length > 200 ? { code: 'invalid_request', param: 'after' } : { code: 'invalid_cursor' };
  for (const l of lists)
    for (const [what, c] of MALFORMED_CURSORS)
      out.push({ name: `${l} after ${what}`, request: { method: 'GET', path: `${l}?after=${c}` }, status: 400, ...codeOf(c) });
  for (const [what, c] of [...MALFORMED_EVENT_CURSORS, ...MALFORMED_CURSORS])
    for (const stream of ['', '&stream=true'])
      out.push({
        name: `events${stream ? ' (SSE)' : ''} after ${what}`,
        request: { method: 'GET', path: `${events}?after=${c}${stream}` },
        status: 400,
        ...codeOf(c),
      });
  for (const l of [...lists, events])
    for (const [what, v] of MALFORMED_LIMITS)
      out.push({
        name: `${l} with ${what}`,
        request: { method: 'GET', path: `${l}?limit=${v}` },
        status: 400,
        code: 'invalid_request',
        param: 'limit',
      });
  return out;
}

/** Bodies that do not decode, or nest too deep. */
export function bodyCases(t: TableInputs): TableCase[] {
  const json = JSON.stringify({ model: 'cola-tiny', training_file: t.trainingFile });
  const post = (headers: Record<string, string>, raw: string | Uint8Array): TableRequest => ({
    method: 'POST',
    path: '/v1/fine_tuning/jobs',
    raw,
    headers: { 'content-type': 'application/json', ...headers },
  });
  const deep = (n: number, open: string, close: string, inner = '1'): string => open.repeat(n) + inner + close.repeat(n);
  return [
    ...['gzip', 'deflate', 'br'].map((enc) => ({
      name: `a plain body labelled Content-Encoding: ${enc}`,
      request: post({ 'content-encoding': enc }, json),
      status: 400,
      code: 'invalid_body_encoding',
    })),
    ...['gzip', 'deflate'].map((enc) => ({
      name: `truncated ${enc} bytes`,
      request: post({ 'content-encoding': enc }, new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0x00])),
      status: 400,
      code: 'invalid_body_encoding',
    })),
    {
      name: 'an unknown Content-Encoding',
      request: post({ 'content-encoding': 'zip' }, json),
      status: 415,
      code: 'unsupported_media_type',
    },
    { name: 'a latin-9 charset', request: post({ 'content-type': 'application/json; charset=latin9' }, json), status: 415 },
    { name: 'arrays nested 1500 deep', request: post({}, deep(1500, '[', ']')), status: 400, code: 'invalid_json' },
    { name: 'objects nested 600 deep', request: post({}, deep(600, '{"a":', '}')), status: 400, code: 'invalid_json' },
    {
      name: 'a hyperparameter nested 200 deep',
      request: post({}, `{"model":"cola-tiny","training_file":"${t.trainingFile}","hyperparameters":${deep(200, '{"x":', '}')}}`),
      status: 400,
      code: 'invalid_json',
    },
    { name: 'brackets inside strings do not count as nesting', request: post({}, JSON.stringify({ model: '['.repeat(100) })), status: 400 },
    { name: 'a JSON array as the body', request: post({}, '[]'), status: 400 },
    { name: 'a JSON string as the body', request: post({}, '"cola"'), status: 400 },
    { name: 'a JSON null as the body', request: post({}, 'null'), status: 400 },
    { name: 'invalid UTF-8 in the body', request: post({}, new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), status: 400 },
  ];
}

/** Chat completions, methods and headers that are wrong. */
export function shapeCases(t: TableInputs): TableCase[] {
  const chat = (over: Record<string, unknown>): TableRequest => ({
    method: 'POST',
    path: '/v1/chat/completions',
    json: { model: 'cola-tiny', messages: [{ role: 'user', content: 'hi' }], ...over },
  });
  const job = (over: Record<string, unknown>): TableRequest => ({
    method: 'POST',
    path: '/v1/fine_tuning/jobs',
    json: { model: 'cola-tiny', training_file: t.trainingFile, ...over },
  });
  const bad = (name: string, request: TableRequest, param?: string | null, code = 'invalid_request'): TableCase => ({
    name,
    request,
    status: 400,
    code,
    param,
  });
  return [
    bad('chat without messages', chat({ messages: undefined }), 'messages'),
    bad('chat with an empty message list', chat({ messages: [] }), 'messages'),
    bad('chat messages as a string', chat({ messages: 'hi' }), 'messages'),
    bad('a chat message that is a string', chat({ messages: ['hi'] })),
    bad('a tool message', chat({ messages: [{ role: 'tool', content: 'x' }] }), 'messages.0.role'),
    bad('a message without a role', chat({ messages: [{ content: 'x' }] }), 'messages.0.role'),
    bad('a numeric message content', chat({ messages: [{ role: 'user', content: 3 }] }), 'messages.0.content'),
    bad(
      'an image content part',
      chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }),
      'messages.0.content',
    ),
    // These two pass the test gateway's 4 KB body limit before the validators see them.
    {
      name: 'a 40 000-character message',
      request: chat({ messages: [{ role: 'user', content: 'x'.repeat(40_000) }] }),
      status: 413,
      code: 'request_too_large',
    },
    {
      name: '257 messages',
      request: chat({ messages: Array.from({ length: 257 }, () => ({ role: 'user', content: 'x' })) }),
      status: 413,
      code: 'request_too_large',
    },
    bad('both max_tokens and max_completion_tokens', chat({ max_tokens: 4, max_completion_tokens: 4 }), 'max_completion_tokens'),
    bad('stream as a string', chat({ stream: 'yes' }), 'stream'),
    bad('stream_options as a string', chat({ stream: true, stream_options: 'usage' }), 'stream_options'),
    bad(
      'an unknown stream option',
      chat({ stream: true, stream_options: { include_logprobs: true } }),
      'stream_options.include_logprobs',
      'unknown_parameter',
    ),
    bad('tools (not supported)', chat({ tools: [] }), 'tools', 'unknown_parameter'),
    bad(
      'a message with an unknown field',
      chat({ messages: [{ role: 'user', content: 'x', tool_calls: [] }] }),
      'messages.0.tool_calls',
      'unknown_parameter',
    ),
    bad(
      'completion stream as a number',
      { method: 'POST', path: '/v1/completions', json: { model: 'cola-tiny', prompt: 'x', stream: 1 } },
      'stream',
    ),
    bad('method type dpo', job({ method: { type: 'dpo' } }), 'method.type'),
    bad('method.supervised with type cola', job({ method: { type: 'cola', supervised: {} } }), 'method.supervised', 'invalid_job_spec'),
    bad(
      'hyperparameters both at the top and in method.supervised',
      job({ method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 1 } } }, hyperparameters: { n_epochs: 1 } }),
      'method.supervised.hyperparameters',
      'invalid_job_spec',
    ),
    bad(
      'supervised n_epochs 0',
      job({ method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 0 } } } }),
      'method.supervised.hyperparameters.n_epochs',
    ),
    bad(
      'an unknown supervised field',
      job({ method: { type: 'supervised', supervised: { beta: 1 } } }),
      'method.supervised.beta',
      'unknown_parameter',
    ),
    bad(
      'an mlp aux in a merge group',
      job({ method: { aux: { type: 'mlp' }, merge_group: 'team' } }),
      'method.merge_group',
      'invalid_job_spec',
    ),
    bad('a merge group with a colon', job({ method: { merge_group: 'a:b' } }), 'method.merge_group'),
    bad(
      'a layer the base model does not have',
      job({ method: { target_modules: ['h.99.attn.c_attn'] } }),
      'method.target_modules.0',
      'invalid_job_spec',
    ),
    bad('a target module of 65 characters', job({ method: { target_modules: ['c'.repeat(65)] } }), 'method.target_modules'),
    bad('65 target modules', job({ method: { target_modules: Array.from({ length: 65 }, () => 'c_attn') } }), 'method.target_modules'),
    bad('an empty target module list', job({ method: { target_modules: [] } }), 'method.target_modules'),
    bad('5 mlp hidden layers', job({ method: { aux: { type: 'mlp', hidden: [8, 8, 8, 8, 8] } } }), 'method.aux.hidden'),
    bad('an mlp hidden width of 0', job({ method: { aux: { type: 'mlp', hidden: [0] } } }), 'method.aux.hidden'),
    {
      name: 'headers over 16 KB',
      request: { method: 'GET', path: '/v1/models', headers: { 'x-padding': 'a'.repeat(20_000) } },
      status: 431,
      code: 'request_header_fields_too_large',
      param: null,
    },
  ];
}
