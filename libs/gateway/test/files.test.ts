import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keys } from '@cola/config';
import { readUpload } from '@cola/pipeline';
import { useRedis } from '@cola/testing';
import type { ErrorShape } from './support/gateway-client';
import { SMALL_TRAIN, startTestGateway, type TestGateway } from './support/gateway-fixture';

interface FileBody {
  id: string;
  object: string;
  bytes: number;
  rows: number;
  kind: string;
  labels: string[] | null;
  filename: string;
  purpose: string;
  status: string;
}

/** Upload limit of this file's gateway: small, so the oversize case sends little. */
const MAX_BYTES = 4096;

describe('when tenants upload JSONL files', () => {
  const redis = useRedis();
  let gw: TestGateway;
  let key: string;

  before(async () => {
    gw = await startTestGateway(redis, { uploadMaxBytes: MAX_BYTES });
    key = await gw.tenant('acme');
  });
  after(() => gw.close());

  it('should store a valid file, describe it and give it back byte for byte', async () => {
    const res = await gw.api.upload<FileBody>(SMALL_TRAIN, key, 'spam.jsonl');
    assert.equal(res.status, 200, res.text);
    const f = res.body;
    assert.match(f.id, /^file-[A-Za-z0-9]{24}$/);
    assert.deepEqual(
      {
        object: f.object,
        bytes: f.bytes,
        rows: f.rows,
        kind: f.kind,
        labels: f.labels,
        filename: f.filename,
        purpose: f.purpose,
        status: f.status,
      },
      {
        object: 'file',
        bytes: Buffer.byteLength(SMALL_TRAIN),
        rows: 4,
        kind: 'classification',
        labels: ['ham', 'spam'],
        filename: 'spam.jsonl',
        purpose: 'fine-tune',
        status: 'processed',
      },
    );
    const ds = await readUpload(redis.client(), f.id);
    assert.equal(ds.rows.length, 4, 'the pipeline reads what the gateway stored');
    const content = await gw.api.get(`/v1/files/${f.id}/content`, key);
    assert.equal(content.status, 200);
    assert.equal(content.text, SMALL_TRAIN);
    const completion = await gw.api.upload<FileBody>('{"prompt":"Call me","completion":" Ishmael."}\n', key);
    assert.deepEqual([completion.body.kind, completion.body.labels], ['completion', null]);
  });

  it('should refuse malformed JSONL with the line and the rule broken', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['{"text":"ok","label":"a"}\n{"text":"broken",\n', 'invalid_json', /line 2/],
      ['{"text":"ok","label":"a"}\n{"text":"no label"}\n', 'missing_field', /line 2: field "label"/],
      ['{"text":"a","label":"x"}\n{"prompt":"p","completion":"c"}\n', 'mixed_kinds', /line 2/],
      ['{"text":"","label":"x"}\n', 'empty_value', /line 1: field "text"/],
      ['[1,2]\n', 'not_an_object', /line 1/],
      ['{"text":"a","label":1}\n{"text":"b","label":"x"}\n', 'inconsistent_label_type', /line 2/],
    ];
    for (const [body, code, message] of cases) {
      const res = await gw.api.upload<ErrorShape>(body, key);
      assert.equal(res.status, 400, `${code}: ${res.text}`);
      assert.equal(res.body.error.code, code);
      assert.equal(res.body.error.param, 'file');
      assert.match(res.body.error.message, message);
    }
    const invalidUtf8 = await gw.api.upload<ErrorShape>(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x0a]), key);
    assert.deepEqual([invalidUtf8.status, invalidUtf8.body.error.code], [400, 'invalid_utf8']);
  });

  it('should refuse an empty file, an oversized file and a request without a file', async () => {
    const empty = await gw.api.upload<ErrorShape>('\n\n', key);
    assert.deepEqual([empty.status, empty.body.error.code, empty.body.error.param], [400, 'empty_file', 'file']);
    const big = SMALL_TRAIN.repeat(Math.ceil((MAX_BYTES + 1) / SMALL_TRAIN.length));
    const tooBig = await gw.api.upload<ErrorShape>(big, key);
    assert.deepEqual([tooBig.status, tooBig.body.error.code], [413, 'file_too_large']);
    const noFile = await gw.api.post<ErrorShape>('/v1/files', { purpose: 'fine-tune' }, key);
    assert.deepEqual([noFile.status, noFile.body.error.code, noFile.body.error.param], [400, 'missing_file', 'file']);
    const badPurpose = await gw.api.upload<ErrorShape>(SMALL_TRAIN, key, 'x.jsonl', 'assistants');
    assert.deepEqual([badPurpose.status, badPurpose.body.error.code, badPurpose.body.error.param], [400, 'invalid_request', 'purpose']);
  });

  it('should list newest first with a cursor, then delete', async () => {
    const other = await gw.tenant('list-tenant');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await gw.api.upload<FileBody>(SMALL_TRAIN, other, `f${i}.jsonl`)).body.id);
    const first = await gw.api.get<{ data: FileBody[]; has_more: boolean; last_id: string }>('/v1/files?limit=2', other);
    assert.deepEqual(
      first.body.data.map((f) => f.id),
      [ids[4], ids[3]],
    );
    assert.equal(first.body.has_more, true);
    const second = await gw.api.get<{ data: FileBody[]; has_more: boolean; last_id: string }>(
      `/v1/files?limit=2&after=${first.body.last_id}`,
      other,
    );
    assert.deepEqual(
      second.body.data.map((f) => f.id),
      [ids[2], ids[1]],
    );
    const last = await gw.api.get<{ data: FileBody[]; has_more: boolean }>(`/v1/files?limit=2&after=${ids[1]}`, other);
    assert.deepEqual([last.body.data.map((f) => f.id), last.body.has_more], [[ids[0]], false]);
    const del = await gw.api.request<{ deleted: boolean }>('DELETE', `/v1/files/${ids[2]}`, { key: other });
    assert.deepEqual([del.status, del.body.deleted], [200, true]);
    assert.equal(await redis.client().exists(keys.upload(ids[2]!), keys.uploadMeta(ids[2]!)), 0, 'bytes and meta are gone');
    assert.equal((await gw.api.get<ErrorShape>(`/v1/files/${ids[2]}`, other)).status, 404);
    const all = await gw.api.get<{ data: FileBody[] }>('/v1/files?limit=100', other);
    assert.deepEqual(
      all.body.data.map((f) => f.id),
      [ids[4], ids[3], ids[1], ids[0]],
    );
    const badCursor = await gw.api.get<ErrorShape>(`/v1/files?after=${ids[2]}`, other);
    assert.deepEqual([badCursor.status, badCursor.body.error.code, badCursor.body.error.param], [400, 'invalid_cursor', 'after']);
    const badLimit = await gw.api.get<ErrorShape>('/v1/files?limit=abc', other);
    assert.deepEqual([badLimit.status, badLimit.body.error.code, badLimit.body.error.param], [400, 'invalid_request', 'limit']);
  });
});
