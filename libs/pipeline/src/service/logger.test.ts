import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLogger, REDACTED, serviceLogger } from './logger';

/** A destination that keeps every line pino writes, parsed. */
function collector(): { lines: Record<string, unknown>[]; write(s: string): void } {
  const lines: Record<string, unknown>[] = [];
  return { lines, write: (s) => lines.push(JSON.parse(s) as Record<string, unknown>) };
}

describe('the service logger', () => {
  it('should write one JSON line with time, level, service, message and the fields, and drop lower levels', () => {
    const out = collector();
    const log = jsonLogger('info', 'merger', out);
    log('debug', 'not shown');
    log('warn', 'model evicted', { jobId: 'job-1', models: 16 });
    assert.equal(out.lines.length, 1);
    const [line] = out.lines;
    assert.deepEqual(
      { ...line, time: undefined },
      { level: 'warn', service: 'merger', message: 'model evicted', jobId: 'job-1', models: 16, time: undefined },
    );
    assert.ok(!Number.isNaN(Date.parse(String(line!.time))), `ISO time, got ${String(line!.time)}`);
    assert.deepEqual(Object.keys(line!).slice(-3), ['message', 'jobId', 'models'], 'the message comes before the fields');
  });

  it('should redact keys and secrets, at the top level and one object down, and request credentials', () => {
    const out = collector();
    const log = jsonLogger('debug', 'gateway', out);
    log('info', 'key created', { apiKey: 'sk-live-1', tenant: { adminKey: 'an-admin-key-of-the-test', id: 'acme' } });
    serviceLogger('gateway', 'info', out).info({
      req: { method: 'GET', url: '/v1/models', headers: { authorization: 'Bearer sk-live-1', cookie: 'a=b', accept: '*/*' } },
      message: 'request completed',
    });
    const text = out.lines.map((l) => JSON.stringify(l)).join('\n');
    assert.doesNotMatch(text, /sk-live-1|an-admin-key-of-the-test|a=b/);
    assert.equal(out.lines[0]!.apiKey, REDACTED);
    assert.deepEqual(out.lines[0]!.tenant, { adminKey: REDACTED, id: 'acme' });
    assert.deepEqual((out.lines[1]!.req as { headers: unknown }).headers, { authorization: REDACTED, cookie: REDACTED, accept: '*/*' });
  });
});
